"""Train the quickstart model, pack it and save a bundle into the local repository."""
from sklearn import svm
from sklearn.datasets import load_iris

from iris_classifier import IrisClassifier

X, y = load_iris(return_X_y=True)
clf = svm.SVC(gamma="scale").fit(X, y)

svc = IrisClassifier()
svc.pack("model", clf, metadata={"accuracy": round(float(clf.score(X, y)), 4), "dataset": "iris"})
print(svc.predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]))  # same semantics as when served
print(svc.save(labels={"framework": "sklearn", "stage": "dev"}))
