from portannot.cli import main

main()
