#!/usr/bin/env python3
"""Derive the polynomial of the logistic kernels' exponential (nn/kernels).

    /usr/bin/python3 tools/expf_poly.py

expf32 reduces t to r with |r| <= ln2/2 and needs e^r - 1 = r + r^2*Q(r).
This fits Q of degree 4 (q4 + q3 r + q2 r^2 + q1 r^3 + q0 r^4) to the
smallest maximum relative error of 1 + r + r^2*Q(r) against e^r on
|r| <= 0.3467, by Lawson's algorithm (iteratively reweighted least
squares) on a dense grid, rounds the coefficients to float32 and prints
them with the errors, next to the degree-5 Q of Cephes' expf that the
kernels used before. Needs numpy.
"""

import numpy as np


def main():
    x = np.linspace(-0.3467, 0.3467, 20001)
    x = x[np.abs(x) > 1e-6]
    b = np.expm1(x) - x
    scale = np.exp(x)

    def fit(deg):
        a = np.stack([x ** (k + 2) for k in range(deg + 1)], axis=1)
        w = np.ones_like(x) / len(x)
        for _ in range(2000):
            ws = np.sqrt(w) / scale
            c, *_ = np.linalg.lstsq(a * ws[:, None], b * ws, rcond=None)
            err = np.abs((a @ c - b) / scale)
            w = w * err
            w /= w.sum()
        return a, c

    a, c = fit(4)
    c32 = c.astype(np.float32)
    err = np.max(np.abs((a @ c32.astype(np.float64) - b) / scale))
    print("Q(r) = q4 + q3 r + q2 r^2 + q1 r^3 + q0 r^4, float32 coefficients:")
    for k, v in enumerate(c32):
        print("  q%d = %r" % (4 - k, float(v)))
    print("max relative error of 1 + r + r^2 Q(r): %.3g (%.3f ulp of 1)" % (err, err / 2.0 ** -23))

    cephes = np.array([5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2,
                       8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4], dtype=np.float32)
    a5 = np.stack([x ** (k + 2) for k in range(6)], axis=1)
    err5 = np.max(np.abs((a5 @ cephes.astype(np.float64) - b) / scale))
    print("Cephes expf (degree-5 Q): %.3g" % err5)


if __name__ == "__main__":
    main()
