from tendencias.flink.job import main

raise SystemExit(main())
