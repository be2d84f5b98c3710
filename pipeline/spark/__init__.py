"""The same ingest and the same questions on Spark (``pip install 'trailwise[spark]'``).

:mod:`.session` starts or joins a SparkSession; :mod:`.ingest` decodes objects on executors
with the embedded decoder; :mod:`.query` runs the named queries as Spark SQL over the lake's
tables.
"""
