from doctordata.cli import main

main()
