# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
python -m mrdib analyze artifacts/runs/baby-mgcn-base-s0-cdb97d4b22 --quiet
python -m mrdib analyze artifacts/runs/baby-mgcn-base-s1-20eb3cd4e1 --quiet
python -m mrdib analyze artifacts/runs/baby-mgcn-base-s2-61bd6d8548 --quiet
python -m mrdib analyze artifacts/runs/baby-mgcn-mrdib-s0-7c7a9f3be3 --quiet
python -m mrdib analyze artifacts/runs/baby-mgcn-mrdib-s1-d8da5b7336 --quiet
python -m mrdib analyze artifacts/runs/baby-mgcn-mrdib-s2-f72cbc0a85 --quiet
