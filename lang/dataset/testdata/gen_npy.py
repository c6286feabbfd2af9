"""Writes the NPY fixtures of lang/dataset's tests with NumPy itself (the
independent reference for the header and byte layout). Run from this folder:

    /usr/bin/python3 gen_npy.py

Every X fixture holds the values v[i, j] = 4*i + j - 6 (i < 3, j < 4) in its
dtype (unsigned ones: 4*i + j), so a test can check them without NumPy.
"""
import numpy as np
from numpy.lib import format as npf

base = (np.arange(12).reshape(3, 4) - 6)
ubase = np.arange(12).reshape(3, 4)
for name, dt in [("f8", "<f8"), ("f4", "<f4"), ("i1", "|i1"), ("i2", "<i2"), ("i4", "<i4"), ("i8", "<i8"),
                 ("be_f8", ">f8"), ("be_f4", ">f4"), ("be_i2", ">i2"), ("be_i4", ">i4"), ("be_i8", ">i8")]:
    np.save(f"x_{name}.npy", base.astype(dt))
for name, dt in [("u1", "|u1"), ("u2", "<u2"), ("be_u4", ">u4"), ("u8", "<u8")]:
    np.save(f"x_{name}.npy", ubase.astype(dt))
for ver in [(2, 0), (3, 0)]:
    with open(f"x_v{ver[0]}.npy", "wb") as f:
        npf.write_array(f, base.astype("<f8"), version=ver)
np.save("y3.npy", np.array([0, 1, 0], dtype="<i8"))
np.save("y3x2.npy", np.array([[1.5, -1], [0, 2], [3, 4]], dtype="<f8"))
np.save("y4.npy", np.array([0, 1, 0, 1], dtype="<i8"))
np.save("x_fortran.npy", np.asfortranarray(base.astype("<f8")))
np.save("x_bool.npy", base > 0)
np.save("x_c16.npy", base.astype(np.complex128))
np.save("x_4d.npy", np.arange(2 * 1 * 2 * 3, dtype="<f8").reshape(2, 1, 2, 3))
a = base.astype("<f8"); a[1, 2] = np.nan
np.save("x_nan.npy", a)
np.save("y2.npy", np.array([1.0, -1.0], dtype="<f8"))
