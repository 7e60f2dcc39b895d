from mrdib.commands.main import main

raise SystemExit(main())
