"""A local module the toy service imports: it must be copied into the bundle."""


def double(x):
    return x * 2
