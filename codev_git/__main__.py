from codev_git.cli import main

raise SystemExit(main())
