import inspect


def pytest_pycollect_makeitem(collector, name, obj):
    "Don't collect the course's own helpers (`test_eq`, `test_near`, ...) when a test module imports them."
    if inspect.isfunction(obj) and getattr(obj, '__module__', '').startswith('exp.'): return []
