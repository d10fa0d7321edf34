"""Train the iris SVC and RandomForest exactly as the peers do and save them as bundles.

    python make_bundles.py /work/shared/bench $PEERBENCH/bundles
"""
import os
import shutil
import sys

bench, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(bench, "peers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common_train import train_models  # noqa: E402

from bench_services import IrisRF, IrisSVC  # noqa: E402

X, y, models = train_models()
for cls, name in ((IrisSVC, "svc"), (IrisRF, "rf")):
    target = os.path.join(out, f"iris_{name}")
    shutil.rmtree(target, ignore_errors=True)
    svc = cls()
    svc.pack("model", models[name])
    print("saved", svc.save_to_dir(target), "acc=%.3f" % models[name].score(X, y))
