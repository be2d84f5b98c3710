from tests.goldens import main

main()
