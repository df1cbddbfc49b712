from regcred.cli import main

raise SystemExit(main())
