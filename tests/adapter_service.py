"""One API per input adapter, each answering with a small summary of what it received, so the
end-to-end tests can send every request format over HTTP and `bento run` to one bundle."""
from bento import BentoService, api
from bento_adapters import (DataframeInput, FileInput, ImageInput, JsonInput, MultiFileInput, MultiImageInput,
                            StringInput)


class AdapterZoo(BentoService):
    """Echoes of JSON, text, DataFrames, files and images."""

    @api(input=JsonInput(), batch=True)
    def json(self, items):
        return items

    @api(input=StringInput(), batch=True)
    def text(self, texts):
        return texts

    @api(input=DataframeInput(), batch=True)
    def frame(self, df):
        return df.sum(axis=1)

    @api(input=DataframeInput(orient="records", columns=["a", "b"]), batch=True)
    def records(self, df):
        return df["a"] - df["b"]

    @api(input=FileInput(), batch=True)
    def file(self, files):
        return [{"name": f.name, "size": len(f.bytes)} for f in files]

    @api(input=ImageInput(accept_image_formats=[".png"]), batch=True)
    def image(self, images):
        return [list(img.shape) for img in images]

    @api(input=MultiFileInput(["a", "b"]), batch=True)
    def pair(self, a, b):
        return [(x.bytes + y.bytes).decode() for x, y in zip(a, b)]

    @api(input=MultiImageInput(["left", "right"]), batch=True)
    def images(self, left, right):
        return [[list(x.shape), list(y.shape)] for x, y in zip(left, right)]
