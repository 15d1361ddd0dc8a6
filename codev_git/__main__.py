from codev_git.entry import main

main()
