from hcl.cli import main

raise SystemExit(main())
