"""Array-level recurrent sequence kernels (LSTM, GRU, SimpleRNN) and their BPTT backward.

:class:`RNNOps` is a mixin of :class:`graphkit.backend.ops.Ops`: every method is written
against ``self.xp`` so NumPy and CuPy share it, and calls overridable ``Ops`` methods
(``dense``, ``dense_backward``, ``sigmoid``) so backend fast paths apply.

Layouts and formulas are Keras 3's (batch-major ``(N, T, features)`` sequences):

* LSTM: kernel ``(F, 4u)``, recurrent kernel ``(u, 4u)``, bias ``(4u,)``; gates i, f, c, o;
  ``c_t = f*c_{t-1} + i*tanh(.)``, ``h_t = o*tanh(c_t)``.
* GRU (``reset_after=True``): kernel ``(F, 3u)``, recurrent kernel ``(u, 3u)``, bias ``(2, 3u)``
  (row 0 input bias, row 1 recurrent bias); gates z, r, h;
  ``hh = tanh(x_h + r*(h_{t-1} @ U_h + b_rh))``, ``h_t = z*h_{t-1} + (1-z)*hh``.
  ``reset_after=False``: bias ``(3u,)`` and ``hh = tanh(x_h + (r*h_{t-1}) @ U_h)``.
* SimpleRNN: kernel ``(F, u)``, recurrent kernel ``(u, u)``, bias ``(u,)``; ``h_t = act(.)``.

Shared design:

* The input projection ``x @ kernel + bias`` is one GEMM over all ``N*T`` rows.
* Sequences are processed in "processing order" (reversed time for ``go_backwards``); the
  returned outputs are in processing order too, as Keras returns them before any flip.
* Masking follows Keras 3's scan (JAX/NumPy backends): where ``mask[:, t]`` is False the states
  are carried over unchanged and the output at that step is the previous hidden state (the last
  valid output; the initial state when no step was valid yet). With ``zero_output_for_mask``
  masked outputs are zeros instead (what Bidirectional uses).
* Backward writes each step's pre-activation gradients into one ``(N, T, k*u)`` buffer, in
  input time order; gradients of the input, kernel and recurrent kernel are one GEMM each at
  the end. Only ``dh_{t-1} = dz_t @ U^T`` is a per-step product. Everything a step's backward
  needs that does not depend on the incoming gradient is precomputed over all steps at once,
  so a step is a handful of array operations.
"""
from __future__ import annotations

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


class RNNOps:
    """Mixin of :class:`Ops` holding the recurrent-layer kernels."""

    # ------------------------------------------------------------ helpers
    def _rnn_mask(self, mask, go_backwards: bool):
        """The mask as bool ``(N, T, 1)`` in processing order, or None."""
        if mask is None:
            return None
        xp = self.xp
        mb = xp.asarray(mask)
        if mb.dtype != bool:
            mb = mb.astype(bool)
        if go_backwards:
            mb = mb[:, ::-1]
        return mb[:, :, None]

    def _rnn_input_projection(self, x, kernel, bias):
        """``x @ kernel + bias`` over all ``N*T`` rows in one GEMM, and ``x`` as 2-D rows."""
        n, steps, features = x.shape
        x2 = x.reshape(n * steps, features)
        xw = self.dense(x2, kernel, bias)
        return x2, xw.reshape(n, steps, kernel.shape[1])

    def _rnn_previous(self, first, seq):
        """``[first, seq[:, 0], ..., seq[:, T-2]]`` along time: the state before each step."""
        xp = self.xp
        return xp.concatenate([first[:, None], seq[:, :-1]], axis=1)

    @staticmethod
    def _rnn_time_order(seq, go_backwards: bool):
        """A processing-order sequence as the matching input-order view (and vice versa)."""
        return seq[:, ::-1] if go_backwards else seq

    def _rnn_weight_grads(self, dz, x2, kernel, with_bias: bool, h_prev, go_backwards: bool, dz_rec=None):
        """Input, kernel, recurrent-kernel and bias gradients from the ``(N, T, k)`` buffer ``dz``.

        One GEMM each. ``dz`` (the input projection's pre-activation gradients) is in input
        time order; ``h_prev`` (the recurrent GEMM's left operand at each step) is in
        processing order; ``dz_rec`` is the recurrent product's gradient where it differs
        from ``dz``.
        """
        xp = self.xp
        n, steps = dz.shape[:2]
        dz2 = dz.reshape(n * steps, -1)
        gx, gw, gb = self.dense_backward(dz2, x2, kernel, with_bias)
        hp = self._rnn_time_order(h_prev, go_backwards).reshape(n * steps, -1)
        gu = xp.matmul(hp.T, dz2 if dz_rec is None else dz_rec.reshape(n * steps, -1))
        return gx.reshape(n, steps, -1), gw, gu, gb

    @staticmethod
    def _rnn_split_mask_grad(dh, mt):
        """(gradient reaching the step's new value, gradient carried past a masked step)."""
        local = dh * mt
        return local, dh - local

    # ------------------------------------------------------------------ LSTM
    def lstm_forward(self, x, h0, c0, kernel, recurrent_kernel, bias=None, mask=None,
                     go_backwards=False, zero_output_for_mask=False, save=True):
        """Run an LSTM over ``x`` ``(N, T, F)``.

        Returns ``(outputs (N, T, u), last_h, last_c, saved)``; ``saved`` is None unless
        ``save``. Saved for backward: the activated gates ``(N, T, 4u)`` and the cell states
        ``(N, T, u)``, besides the hidden-state sequence (the outputs), inputs and weights.
        """
        xp = self.xp
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        dtype = x.dtype
        x2, xw = self._rnn_input_projection(x, kernel, bias)
        xw = self._rnn_time_order(xw, go_backwards)
        mb = self._rnn_mask(mask, go_backwards)
        hs = xp.empty((n, steps, u), dtype)
        gates = xp.empty((n, steps, 4 * u), dtype) if save else None
        cs = xp.empty((n, steps, u), dtype) if save else None
        h, c = h0, c0
        u2, u3 = 2 * u, 3 * u
        for s in range(steps):
            z = xp.matmul(h, recurrent_kernel)
            z += xw[:, s]
            g = self.sigmoid(z)
            xp.tanh(z[:, u2:u3], out=g[:, u2:u3])
            c_new = g[:, u:u2] * c
            c_new += g[:, :u] * g[:, u2:u3]
            h_new = xp.tanh(c_new)
            h_new *= g[:, u3:]
            if mb is not None:
                mt = mb[:, s]
                c_new = xp.where(mt, c_new, c)
                h_new = xp.where(mt, h_new, h)
            hs[:, s] = h_new
            if save:
                gates[:, s] = g
                cs[:, s] = c_new
            h, c = h_new, c_new
        outputs = hs * mb.astype(dtype) if (zero_output_for_mask and mb is not None) else hs
        saved = None
        if save:
            saved = (x2, h0, c0, kernel, recurrent_kernel, bias is not None, mb, go_backwards,
                     zero_output_for_mask, hs, gates, cs)
        return outputs, h, c, saved

    def lstm_backward(self, saved, g_outputs, g_h, g_c):
        """BPTT for :meth:`lstm_forward`: ``(gx, gh0, gc0, gkernel, grecurrent, gbias)``."""
        xp = self.xp
        (x2, h0, c0, kernel, rk, with_bias, mb, go_backwards, zero_out, hs, gates, cs) = saved
        n, steps, u = hs.shape
        dtype = hs.dtype
        h_prev = self._rnn_previous(h0, hs)
        c_prev = self._rnn_previous(c0, cs)
        i, f, gg, o = (gates[..., k * u:(k + 1) * u] for k in range(4))
        tc = xp.tanh(cs)
        # dz = [dc*coef_i, dc*coef_f, dc*coef_c, dh*coef_o]; dc_t = dc_{t+1} + dh * q.
        coef = xp.empty((n, steps, 4, u), dtype)
        xp.multiply(i * (1 - i), gg, out=coef[:, :, 0])
        xp.multiply(f * (1 - f), c_prev, out=coef[:, :, 1])
        xp.multiply(1 - gg * gg, i, out=coef[:, :, 2])
        xp.multiply(o * (1 - o), tc, out=coef[:, :, 3])
        q = o * (1 - tc * tc)
        del c_prev, tc
        dz = xp.empty((n, steps, 4, u), dtype)
        dz_steps = self._rnn_time_order(dz, go_backwards)
        dz_rows = self._rnn_time_order(dz.reshape(n, steps, 4 * u), go_backwards)
        rk_t = rk.T
        mf = None if mb is None else mb.astype(dtype)
        if g_outputs is not None and zero_out and mf is not None:
            g_outputs = g_outputs * mf
        dh = g_h if g_h is not None else xp.zeros((n, u), dtype)
        dc = g_c if g_c is not None else xp.zeros((n, u), dtype)
        for s in range(steps - 1, -1, -1):
            if g_outputs is not None:
                dh = dh + g_outputs[:, s]
            dc_t = dh * q[:, s]
            dc_t += dc
            if mf is not None:
                mt = mf[:, s]
                dc_t *= mt
                dh, dh_carry = self._rnn_split_mask_grad(dh, mt)
            dzs = dz_steps[:, s]
            xp.multiply(dc_t[:, None, :], coef[:, s, :3], out=dzs[:, :3])
            xp.multiply(dh, coef[:, s, 3], out=dzs[:, 3])
            dh_new = xp.matmul(dz_rows[:, s], rk_t)
            if mf is not None:
                dh_new += dh_carry
                dc_t_f = dc_t * f[:, s]
                dc_t_f += dc * (1 - mt)
                dc = dc_t_f
            else:
                dc = dc_t * f[:, s]
            dh = dh_new
        gx, gw, gu, gb = self._rnn_weight_grads(dz.reshape(n, steps, 4 * u), x2, kernel, with_bias,
                                                h_prev, go_backwards)
        return gx, dh, dc, gw, gu, gb

    # ------------------------------------------------------------------- GRU
    def gru_forward(self, x, h0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
                    reset_after=True, zero_output_for_mask=False, save=True):
        """Run a GRU over ``x`` ``(N, T, F)``; returns ``(outputs, last_h, saved)``.

        Saved for backward: the activated gates ``[z, r, hh]`` ``(N, T, 3u)`` and, with
        ``reset_after``, the recurrent candidate term ``h_{t-1} @ U_h + b_rh`` ``(N, T, u)``,
        besides the hidden-state sequence (the outputs), inputs and weights.
        """
        xp = self.xp
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        u2 = 2 * u
        dtype = x.dtype
        if bias is None:
            in_bias = rec_bias = None
        elif reset_after:
            in_bias, rec_bias = bias[0], bias[1]
        else:
            in_bias, rec_bias = bias, None
        x2, xw = self._rnn_input_projection(x, kernel, in_bias)
        xw = self._rnn_time_order(xw, go_backwards)
        mb = self._rnn_mask(mask, go_backwards)
        hs = xp.empty((n, steps, u), dtype)
        gates = xp.empty((n, steps, 3 * u), dtype) if save else None
        rec_h = xp.empty((n, steps, u), dtype) if (save and reset_after) else None
        u_zr, u_h = recurrent_kernel[:, :u2], recurrent_kernel[:, u2:]
        h = h0
        for s in range(steps):
            xs = xw[:, s]
            if reset_after:
                rr = xp.matmul(h, recurrent_kernel)
                if rec_bias is not None:
                    rr += rec_bias
                zr = rr[:, :u2]
                zr += xs[:, :u2]
                zr = self.sigmoid(zr)
                hh = zr[:, u:] * rr[:, u2:]
            else:
                zr = xp.matmul(h, u_zr)
                zr += xs[:, :u2]
                zr = self.sigmoid(zr)
                hh = xp.matmul(zr[:, u:] * h, u_h)
            hh += xs[:, u2:]
            xp.tanh(hh, out=hh)
            h_new = h - hh
            h_new *= zr[:, :u]
            h_new += hh
            if mb is not None:
                h_new = xp.where(mb[:, s], h_new, h)
            hs[:, s] = h_new
            if save:
                gates[:, s, :u2] = zr
                gates[:, s, u2:] = hh
                if reset_after:
                    rec_h[:, s] = rr[:, u2:]
            h = h_new
        outputs = hs * mb.astype(dtype) if (zero_output_for_mask and mb is not None) else hs
        saved = None
        if save:
            saved = (x2, h0, kernel, recurrent_kernel, bias is not None, mb, go_backwards, reset_after,
                     zero_output_for_mask, hs, gates, rec_h)
        return outputs, h, saved

    def gru_backward(self, saved, g_outputs, g_h):
        """BPTT for :meth:`gru_forward`: ``(gx, gh0, gkernel, grecurrent, gbias)``."""
        xp = self.xp
        (x2, h0, kernel, rk, with_bias, mb, go_backwards, reset_after, zero_out, hs, gates, rec_h) = saved
        n, steps, u = hs.shape
        u2 = 2 * u
        dtype = hs.dtype
        h_prev = self._rnn_previous(h0, hs)
        z, r, hh = (gates[..., k * u:(k + 1) * u] for k in range(3))
        # Every pre-activation gradient of a step is dh times a factor known after forward.
        a = (1 - z) * (1 - hh * hh)                  # d hh-preactivation / dh
        dx = xp.empty((n, steps, 3, u), dtype)       # input pre-activation grads (input order)
        dx_steps = self._rnn_time_order(dx, go_backwards)
        rk_t = rk.T
        mf = None if mb is None else mb.astype(dtype)
        if g_outputs is not None and zero_out and mf is not None:
            g_outputs = g_outputs * mf
        dh = g_h if g_h is not None else xp.zeros((n, u), dtype)
        if reset_after:
            coef = xp.empty((n, steps, 3, u), dtype)
            xp.multiply(z * (1 - z), h_prev - hh, out=coef[:, :, 0])
            xp.multiply(r * (1 - r), rec_h, out=coef[:, :, 1])
            coef[:, :, 1] *= a
            coef[:, :, 2] = a
            a_r = a * r                                # recurrent hh term's factor
            dr = xp.empty((n, steps, 3, u), dtype)     # recurrent pre-activation grads
            dr_steps = self._rnn_time_order(dr, go_backwards)
            dr_rows = self._rnn_time_order(dr.reshape(n, steps, 3 * u), go_backwards)
            for s in range(steps - 1, -1, -1):
                if g_outputs is not None:
                    dh = dh + g_outputs[:, s]
                if mf is not None:
                    dh, dh_carry = self._rnn_split_mask_grad(dh, mf[:, s])
                dxs, drs = dx_steps[:, s], dr_steps[:, s]
                xp.multiply(dh[:, None, :], coef[:, s], out=dxs)
                drs[:, :2] = dxs[:, :2]
                xp.multiply(dh, a_r[:, s], out=drs[:, 2])
                dh_new = xp.matmul(dr_rows[:, s], rk_t)
                dh_new += dh * z[:, s]
                if mf is not None:
                    dh_new += dh_carry
                dh = dh_new
            gx, gw, gu, gb_in = self._rnn_weight_grads(dx.reshape(n, steps, 3 * u), x2, kernel, with_bias,
                                                       h_prev, go_backwards, dz_rec=dr)
            gb = xp.stack([gb_in, dr.reshape(n * steps, 3 * u).sum(axis=0)]) if with_bias else None
            return gx, dh, gw, gu, gb
        # reset_after=False: hh = tanh(x_h + (r*h_{t-1}) @ U_h) needs a second per-step product.
        coef_z = z * (1 - z) * (h_prev - hh)
        coef_r = r * (1 - r) * h_prev
        u_zr_t, u_h_t = rk[:, :u2].T, rk[:, u2:].T
        dx_rows = self._rnn_time_order(dx.reshape(n, steps, 3 * u), go_backwards)
        for s in range(steps - 1, -1, -1):
            if g_outputs is not None:
                dh = dh + g_outputs[:, s]
            if mf is not None:
                dh, dh_carry = self._rnn_split_mask_grad(dh, mf[:, s])
            dxs = dx_steps[:, s]
            xp.multiply(dh, coef_z[:, s], out=dxs[:, 0])
            xp.multiply(dh, a[:, s], out=dxs[:, 2])
            d_rh = xp.matmul(dxs[:, 2], u_h_t)          # grad of (r*h_{t-1})
            xp.multiply(d_rh, coef_r[:, s], out=dxs[:, 1])
            dh_new = xp.matmul(dx_rows[:, s, :u2], u_zr_t)
            d_rh *= r[:, s]
            dh_new += d_rh
            dh_new += dh * z[:, s]
            if mf is not None:
                dh_new += dh_carry
            dh = dh_new
        dx = dx.reshape(n * steps, 3 * u)
        gx, gw, gb = self.dense_backward(dx, x2, kernel, with_bias)
        hp = self._rnn_time_order(h_prev, go_backwards).reshape(n * steps, u)
        rh = self._rnn_time_order(r * h_prev, go_backwards).reshape(n * steps, u)
        gu = xp.concatenate([xp.matmul(hp.T, dx[:, :u2]), xp.matmul(rh.T, dx[:, u2:])], axis=1)
        return gx.reshape(n, steps, -1), dh, gw, gu, gb

    # ------------------------------------------------------------- SimpleRNN
    def simple_rnn_forward(self, x, h0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
                           activation="tanh", zero_output_for_mask=False, save=True):
        """Run a SimpleRNN over ``x`` ``(N, T, F)``; returns ``(outputs, last_h, saved)``.

        Saved for backward: only the hidden-state sequence (the outputs), inputs and weights;
        the activation's derivative is recomputed from it.
        """
        if activation not in _ACTIVATIONS:
            raise ValueError(f"simple_rnn activation must be one of {_ACTIVATIONS}, got {activation!r}.")
        xp = self.xp
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        dtype = x.dtype
        x2, xw = self._rnn_input_projection(x, kernel, bias)
        xw = self._rnn_time_order(xw, go_backwards)
        mb = self._rnn_mask(mask, go_backwards)
        hs = xp.empty((n, steps, u), dtype)
        h = h0
        for s in range(steps):
            a = xp.matmul(h, recurrent_kernel)
            a += xw[:, s]
            if activation == "tanh":
                xp.tanh(a, out=a)
            elif activation == "relu":
                xp.maximum(a, 0, out=a)
            elif activation == "sigmoid":
                a = self.sigmoid(a)
            if mb is not None:
                a = xp.where(mb[:, s], a, h)
            hs[:, s] = a
            h = a
        outputs = hs * mb.astype(dtype) if (zero_output_for_mask and mb is not None) else hs
        saved = None
        if save:
            saved = (x2, h0, kernel, recurrent_kernel, bias is not None, mb, go_backwards, activation,
                     zero_output_for_mask, hs)
        return outputs, h, saved

    def simple_rnn_backward(self, saved, g_outputs, g_h):
        """BPTT for :meth:`simple_rnn_forward`: ``(gx, gh0, gkernel, grecurrent, gbias)``."""
        xp = self.xp
        (x2, h0, kernel, rk, with_bias, mb, go_backwards, activation, zero_out, hs) = saved
        n, steps, u = hs.shape
        dtype = hs.dtype
        if activation == "tanh":
            deriv = 1 - hs * hs
        elif activation == "relu":
            deriv = (hs > 0).astype(dtype)
        elif activation == "sigmoid":
            deriv = hs * (1 - hs)
        else:
            deriv = None
        dz = xp.empty((n, steps, u), dtype)
        dz_steps = self._rnn_time_order(dz, go_backwards)
        rk_t = rk.T
        mf = None if mb is None else mb.astype(dtype)
        if g_outputs is not None and zero_out and mf is not None:
            g_outputs = g_outputs * mf
        dh = g_h if g_h is not None else xp.zeros((n, u), dtype)
        for s in range(steps - 1, -1, -1):
            if g_outputs is not None:
                dh = dh + g_outputs[:, s]
            if mf is not None:
                dh, dh_carry = self._rnn_split_mask_grad(dh, mf[:, s])
            dzs = dz_steps[:, s]
            if deriv is None:
                dzs[...] = dh
            else:
                xp.multiply(dh, deriv[:, s], out=dzs)
            dh = xp.matmul(dzs, rk_t)
            if mf is not None:
                dh += dh_carry
        h_prev = self._rnn_previous(h0, hs)
        gx, gw, gu, gb = self._rnn_weight_grads(dz, x2, kernel, with_bias, h_prev, go_backwards)
        return gx, dh, gw, gu, gb
