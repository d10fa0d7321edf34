"""APIs whose answer for a row or item tells exactly what the function saw of it (values, column
names, dtypes), and which raise for one marked item: any dependence of a request's answer on its
batch-mates shows in the test_same_answer property. Each call takes 30 ms, so requests sent at
once queue behind the first and share the next batch."""
import json
import time

from bento import BentoService, api
from bento_adapters import DataframeInput, FileInput, JsonInput, StringInput


def _describe_rows(df):
    time.sleep(0.03)
    if (df.astype(str) == "boom").any(axis=None):
        raise ValueError("a row says boom")
    head = f"{list(map(str, df.columns))} {[str(t) for t in df.dtypes]}"
    return [f"{head} {json.dumps(row, default=str)}" for row in df.astype(object).values.tolist()]


class SameAnswer(BentoService):
    @api(input=DataframeInput(), batch=True)
    def frame(self, df):
        return _describe_rows(df)

    @api(input=DataframeInput(columns=["a", "b"]), batch=True)
    def declared(self, df):
        return _describe_rows(df)

    @api(input=JsonInput(), batch=True)
    def json(self, items):
        time.sleep(0.03)
        if "boom" in items:
            raise ValueError("boom")
        return [f"{type(x).__name__} {json.dumps(x)}" for x in items]

    @api(input=StringInput(), batch=True)
    def text(self, texts):
        time.sleep(0.03)
        if any("boom" in t for t in texts):
            raise ValueError("boom")
        return [t[::-1] for t in texts]

    @api(input=FileInput(), batch=True)
    def file(self, files):
        time.sleep(0.03)
        return [f"{f.name} {len(f.bytes)}" for f in files]
