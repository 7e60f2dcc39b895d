from mrdib.cli import main

raise SystemExit(main())
