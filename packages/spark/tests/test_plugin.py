"""The plugin's wiring: entry point, lazy imports, the command in `bento`."""
from __future__ import annotations

import subprocess
import sys


def test_entry_point_loads_the_plugin_module():
    from importlib.metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="bento") if ep.name == "spark"]
    assert ep.value == "bento_spark.plugin"
    assert hasattr(ep.load(), "register_commands")


def test_importing_the_plugin_does_not_import_pyspark_or_pandas():
    code = ("import sys, bento_spark, bento_spark.plugin; "
            "print(sorted(m for m in ('pyspark', 'pandas', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_plugin_leaves_the_job_modules_unimported_until_apply_is_used():
    """Every `bento` command loads the plugin, which imports the package: `apply` and what it
    needs (bento's loader, the schema and shipping modules) come only with `bento_spark.apply`."""
    code = ("import sys, bento_spark.plugin; before = 'bento_spark.transform' in sys.modules; "
            "from bento_spark import apply; from bento_spark.transform import apply as real; "
            "print(before, apply is real)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_bento_lists_spark_run(bento_home):
    from bento.cli import make_cli
    from click.testing import CliRunner

    result = CliRunner().invoke(make_cli(), ["--help"])
    assert "spark-run" in result.output
    assert "needs bento-spark" not in result.output
