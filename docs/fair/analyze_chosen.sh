# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
python -m mrdib analyze artifacts/runs/tiktok-dualgnn-base-s0-af41c2ae64 --quiet
python -m mrdib analyze artifacts/runs/tiktok-freedom-base-s0-3c098ebfd6 --quiet
python -m mrdib analyze artifacts/runs/tiktok-freedom-base-s1-c613e59a96 --quiet
python -m mrdib analyze artifacts/runs/tiktok-freedom-base-s2-6fd2a863ad --quiet
