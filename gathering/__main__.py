from gathering.cli import main

raise SystemExit(main())
