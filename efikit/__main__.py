from efikit.cli.main import main

main()
