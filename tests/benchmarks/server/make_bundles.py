"""Train the iris SVC and RandomForest exactly as the peers do and save them as bundles, as they are
and compiled to ONNX (iris_svc_onnx, iris_rf_onnx); and the model-less Echo (echo).

    python make_bundles.py /work/shared/bench $PEERBENCH/bundles
"""
import os
import shutil
import sys

bench, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(bench, "peers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common_train import train_models  # noqa: E402

from bench_services import Echo, IrisRF, IrisRFOnnx, IrisSVC, IrisSVCOnnx  # noqa: E402

X, y, models = train_models()
for cls, name, bundle in ((IrisSVC, "svc", "iris_svc"), (IrisRF, "rf", "iris_rf"),
                          (IrisSVCOnnx, "svc", "iris_svc_onnx"), (IrisRFOnnx, "rf", "iris_rf_onnx")):
    target = os.path.join(out, bundle)
    shutil.rmtree(target, ignore_errors=True)
    svc = cls()
    # the compiled ones are verified on the training set (every row: same label as scikit-learn)
    svc.pack("model", models[name], **({"sample_input": X} if bundle.endswith("_onnx") else {}))
    print("saved", svc.save_to_dir(target), "acc=%.3f" % models[name].score(X, y))
shutil.rmtree(os.path.join(out, "echo"), ignore_errors=True)
print("saved", Echo().save_to_dir(os.path.join(out, "echo")))
