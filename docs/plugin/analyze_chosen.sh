# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
python -m mrdib analyze artifacts/runs/baby-vbpr-base-s0-9b00833d58 --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-base-s1-2ab6555e7e --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-base-s2-a931a65b42 --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-base-s3-72e8a22b13 --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-base-s4-f8fdf855ca --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-mrdib-s0-931e8a7fe8 --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-mrdib-s1-1714f9c66c --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-mrdib-s2-4051aee9f6 --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-mrdib-s3-63ee028082 --quiet
python -m mrdib analyze artifacts/runs/baby-vbpr-mrdib-s4-183c5c1381 --quiet
