# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
python -m mrdib analyze artifacts/runs/tiktok-vbpr-base-s0-4ff8ff5d26 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-base-s1-ec8291e1fe --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-base-s2-56126dda30 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-base-s3-3f2839c511 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-base-s4-6214c77585 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-mrdib-s0-efeade1cd6 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-mrdib-s1-598a75752d --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-mrdib-s2-a173f5e476 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-mrdib-s3-d39cda45a9 --quiet
python -m mrdib analyze artifacts/runs/tiktok-vbpr-mrdib-s4-6b3c372c0b --quiet
