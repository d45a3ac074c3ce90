from portannot.cli import console

console()
