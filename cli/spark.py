"""The spark-submit entry point: ``trailwise`` with the Spark engine.

spark-submit runs a Python file, not a module or a console script, so this file is what a
cluster is given (EMR Serverless ``entryPoint``, Glue ``--scriptLocation``, ``spark-submit
FILE``), with trailwise installed in the Python that runs it::

    spark-submit "$(python -c 'import trailwise.cli.spark as m; print(m.__file__)')" \\
        ingest s3://trail-bucket/AWSLogs --lake s3://lake-bucket/trailwise --catalog glue

Every command and option is the ``trailwise`` command's; ``--engine`` defaults to ``spark``
here, so ingest, query and policy bulk run on the session spark-submit configured.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as a file, Python puts this folder first on the path, where main.py, policy.py and the
# other CLI modules would shadow top-level modules of the same names.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("TRAILWISE_ENGINE", "spark")
    from trailwise.cli.main import main as trailwise

    sys.argv = [sys.argv[0], *(sys.argv[1:] if argv is None else argv)]
    trailwise()


if __name__ == "__main__":
    main()
