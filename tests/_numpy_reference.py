"""NumPy helpers the tests' reference implementations share."""


def unpack(params, units):
    """coefs_ and intercepts_ as views of the flat arena params (scikit-learn's _pack order)."""
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        coefs.append(params[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        intercepts.append(params[start : start + fan_out])
        start += fan_out
    assert start == params.size
    return coefs, intercepts
