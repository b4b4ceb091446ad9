"""Array-level recurrent sequence kernels (LSTM, GRU, SimpleRNN) and their BPTT backward.

:class:`RNNOps` is a mixin of :class:`graphkit.backend.ops.Ops`: every method is written
against ``self.xp`` so NumPy and CuPy share it, and the input projection and its gradients go
through the overridable ``Ops.dense`` / ``Ops.dense_backward``.

Layouts and formulas are Keras 3's (batch-major ``(N, T, features)`` sequences):

* LSTM: kernel ``(F, 4u)``, recurrent kernel ``(u, 4u)``, bias ``(4u,)``; gates i, f, c, o;
  ``c_t = f*c_{t-1} + i*tanh(.)``, ``h_t = o*tanh(c_t)``.
* GRU (``reset_after=True``): kernel ``(F, 3u)``, recurrent kernel ``(u, 3u)``, bias ``(2, 3u)``
  (row 0 input bias, row 1 recurrent bias); gates z, r, h;
  ``hh = tanh(x_h + r*(h_{t-1} @ U_h + b_rh))``, ``h_t = z*h_{t-1} + (1-z)*hh``.
  ``reset_after=False``: bias ``(3u,)`` and ``hh = tanh(x_h + (r*h_{t-1}) @ U_h)``.
* SimpleRNN: kernel ``(F, u)``, recurrent kernel ``(u, u)``, bias ``(u,)``; ``h_t = act(.)``.

Shared design:

* Sequences are processed in "processing order" (reversed time for ``go_backwards``); the
  returned outputs are in processing order too, as Keras returns them before any flip.
* Internally everything is time-major ``(T, N, .)`` in processing order so that each step's
  slices are contiguous (strided in-place updates cost 2-3x more in NumPy). The input is
  transposed once, the outputs once.
* The input projection ``x @ kernel + bias`` is one GEMM over all ``N*T`` rows.
* Masking follows Keras 3's scan (JAX/NumPy backends): where ``mask[:, t]`` is False the states
  are carried over unchanged and the output at that step is the previous hidden state (the last
  valid output; the initial state when no step was valid yet). With ``zero_output_for_mask``
  masked outputs are zeros instead (what Bidirectional uses).
* Gate sigmoids are ``0.5 * tanh(z / 2) + 0.5``: the halving is folded into the (copied) weight
  columns of the sigmoid gates, which is exact in floating point, so a step's gates are one
  ``tanh`` over all columns plus a per-column scale and shift. This needs no overflow guard and
  is several times faster than ``scipy.special.expit`` on CPU.
* Per-step work runs in preallocated buffers with ``out=`` (fresh temporaries cost more than
  the arithmetic at these sizes); each step's gates and states are written straight into the
  saved sequences. State sequences keep the initial state in slot 0 (``(T+1, N, u)``), so the
  "previous state" of every step is a plain view for backward.
* Backward writes each step's pre-activation gradients into one ``(T, N, k*u)`` buffer; the
  gradients of the input, kernel and recurrent kernel are one GEMM each at the end. Only
  ``dh_{t-1} = dz_t @ U^T`` is a per-step product (two for GRU with ``reset_after=False``).
  Every pre-activation gradient of a step is the incoming ``dh`` (or ``dc``) times a factor
  known after forward; those factors are computed for all steps at once before the loop, so a
  step is a handful of array operations.
"""
from __future__ import annotations

from typing import Any, NamedTuple

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


class LSTMSaved(NamedTuple):
    """What :meth:`RNNOps.lstm_forward` (and NumpyOps' fused version) keep for the backward."""

    x2: Any
    kernel: Any
    recurrent_kernel: Any
    with_bias: bool
    mask: Any
    go_backwards: bool
    zero_output_for_mask: bool
    hs: Any
    gates: Any
    cs: Any
    tcs: Any
    zero_h0: bool


class RNNOps:
    """Mixin of :class:`Ops` holding the recurrent-layer kernels."""

    # ------------------------------------------------------------ helpers
    def _rnn_mask(self, mask, go_backwards: bool):
        """The mask as bool ``(T, N, 1)`` in processing order, or None."""
        if mask is None:
            return None
        mb = self.xp.asarray(mask)
        if mb.dtype != bool:
            mb = mb.astype(bool)
        mb = mb.T
        if go_backwards:
            mb = mb[::-1]
        return self.xp.ascontiguousarray(mb)[:, :, None]

    def _rnn_time_major(self, x, go_backwards: bool):
        """``(N, T, k)`` in input order as a contiguous ``(T, N, k)`` in processing order."""
        xt = x.transpose(1, 0, 2)
        return self.xp.ascontiguousarray(xt[::-1] if go_backwards else xt)

    def _rnn_batch_major(self, seq, go_backwards: bool):
        """``(T, N, k)`` in processing order as a contiguous ``(N, T, k)`` in input order."""
        return self.xp.ascontiguousarray((seq[::-1] if go_backwards else seq).transpose(1, 0, 2))

    def _rnn_outputs(self, hs, mb, zero_output_for_mask: bool):
        """The ``(N, T, u)`` outputs (processing order) from the states ``hs`` ``(T+1, N, u)``:
        a transposed view, not a copy (a layer returning only the last state never reads it,
        and a stacked recurrent layer transposes it straight back to time-major)."""
        seq = hs[1:]
        if zero_output_for_mask and mb is not None:
            seq = seq * mb.astype(seq.dtype)
        return seq.transpose(1, 0, 2)

    def _rnn_gate_scale(self, pattern, units: int, dtype):
        """Per-column ``(scale, shift)`` turning ``tanh`` of halved sigmoid-gate columns into sigmoids.

        ``pattern`` has one entry per gate: True for a sigmoid gate, False for a tanh one.
        Cached per ``(pattern, units, dtype)`` on the instance: callers only read them.
        """
        key = (pattern, units, dtype)
        cache = self.__dict__.setdefault("_rnn_gate_scales", {})
        found = cache.get(key)
        if found is not None:
            return found
        xp = self.xp
        scale = xp.ones((len(pattern), units), dtype)
        shift = xp.zeros((len(pattern), units), dtype)
        for k, is_sigmoid in enumerate(pattern):
            if is_sigmoid:
                scale[k] = 0.5
                shift[k] = 0.5
        cache[key] = found = (scale.reshape(-1), shift.reshape(-1))
        return found

    def _rnn_projection(self, x, kernel, bias, go_backwards: bool):
        """``x @ kernel + bias`` for every step in one GEMM, as ``(T, N, k)`` in processing order.

        Also returns the GEMM's left operand, ``x`` time-major as ``(T*N, F)``: backward saves
        it for the kernel gradient instead of transposing ``x`` again.
        """
        n, steps, features = x.shape
        xt = self._rnn_time_major(x, go_backwards).reshape(steps * n, features)
        return self.dense(xt, kernel, bias).reshape(steps, n, kernel.shape[1]), xt

    def _rnn_states(self, initial, steps: int):
        """A ``(T+1, N, u)`` state sequence holding ``initial`` in slot 0."""
        seq = self.xp.empty((steps + 1,) + tuple(initial.shape), initial.dtype)
        seq[0] = initial
        return seq

    def _rnn_start_grad(self, grad, shape, dtype):
        """A fresh buffer holding ``grad`` (zeros for None): the loop updates it in place."""
        xp = self.xp
        return xp.zeros(shape, dtype) if grad is None else xp.array(grad, dtype=dtype, copy=True)

    def _rnn_backward_setup(self, mb, g_outputs, zero_out: bool, dtype):
        """Float mask and its complement, and the outputs' gradient as a ``(T, N, u)`` view."""
        g = None if g_outputs is None else g_outputs.transpose(1, 0, 2)
        if mb is None:
            return None, None, g
        mf = mb.astype(dtype)
        if g is not None and zero_out:
            g = g * mf
        return mf, 1 - mf, g

    def _rnn_weight_grads(self, dz, x2, kernel, with_bias: bool, h_prev, go_backwards: bool, dz_rec=None,
                          input_grad: bool = True):
        """Input, kernel, recurrent-kernel and bias gradients from the ``(T, N, k)`` buffer ``dz``.

        One GEMM each. ``dz`` holds the input projection's pre-activation gradients, ``x2`` the
        time-major ``(T*N, F)`` input and ``h_prev`` the recurrent GEMM's left operand at each
        step (all processing order);
        ``dz_rec`` is the recurrent product's gradient where it differs from ``dz``.
        ``input_grad=False`` skips the input gradient (None) when the input needs none.
        """
        steps, n = dz.shape[:2]
        dz2 = dz.reshape(steps * n, -1)
        gx, gw, gb = self.dense_backward(dz2, x2, kernel, with_bias, input_grad)
        if gx is not None:
            gx = self._rnn_batch_major(gx.reshape(steps, n, -1), go_backwards)
        rec = dz2 if dz_rec is None else dz_rec.reshape(steps * n, -1)
        skipped = steps - h_prev.shape[0]   # leading steps whose h_prev is known zero
        gu = self.xp.matmul(h_prev.reshape(-1, h_prev.shape[-1]).T, rec[skipped * n:])
        return gx, gw, gu, gb

    # ------------------------------------------------------------------ LSTM
    def lstm_forward(self, x, h0, c0, kernel, recurrent_kernel, bias=None, mask=None,
                     go_backwards=False, zero_output_for_mask=False, save=True, zero_h0=False):
        """Run an LSTM over ``x`` ``(N, T, F)``.

        ``zero_h0=True`` promises that ``h0`` is zeros and needs no gradient (the initial state
        was left out): the first step's recurrent GEMM and BPTT's last one are skipped.

        Returns ``(outputs (N, T, u), last_h, last_c, saved)``; ``saved`` is None unless
        ``save``. Saved for backward: the activated gates ``(T, 4, N, u)`` (gate-major, so each
        gate of a step is one contiguous block: numpy iterates row-strided blocks several times
        slower), the cell states and hidden states ``(T+1, N, u)`` each, ``tanh`` of the cell
        states ``(T, N, u)``, the mask, ``x`` time-major ``(T*N, F)`` and references to the weights.
        """
        xp = self.xp
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        dtype = x.dtype
        scale, _ = self._rnn_gate_scale((True, True, False, True), u, dtype)
        xw, x2 = self._rnn_projection(x, kernel * scale, None if bias is None else bias * scale, go_backwards)
        rk = recurrent_kernel * scale
        mb = self._rnn_mask(mask, go_backwards)
        keep = None if mb is None else ~mb
        hs = self._rnn_states(h0, steps)
        gates = xp.empty((steps if save else 1, 4, n, u), dtype)
        if save:
            cs = self._rnn_states(c0, steps)
            tcs = xp.empty((steps, n, u), dtype)   # tanh(c_t), reused by backward
        else:
            cs = xp.empty((2, n, u), dtype)
        z = xp.empty((n, 4 * u), dtype)
        tmp = xp.empty((n, u), dtype)
        c = c0
        for s in range(steps):
            h, h_new = hs[s], hs[s + 1]
            g = gates[s if save else 0]
            if s or not zero_h0:
                xp.matmul(h, rk, out=z)
                z += xw[s]
                pre = z
            else:   # h0 @ rk is zero
                pre = xw[s]
            c_new = cs[s + 1] if save else cs[s % 2]
            self._lstm_cell(pre, c, g, c_new, tcs[s] if save else None, h_new, tmp)
            if keep is not None:
                xp.copyto(c_new, c, where=keep[s])
                xp.copyto(h_new, h, where=keep[s])
            c = c_new
        outputs = self._rnn_outputs(hs, mb, zero_output_for_mask)
        saved = None
        if save:
            saved = LSTMSaved(x2, kernel, recurrent_kernel, bias is not None, mb, go_backwards, zero_output_for_mask,
                              hs, gates, cs, tcs, bool(zero_h0))
        return outputs, hs[steps].copy(), c.copy(), saved

    def _lstm_cell(self, pre, c, g, c_new, tc, h_new, tmp) -> None:
        """One LSTM step's gates and states from ``pre`` (N, 4u), the gate pre-activations with the
        sigmoid gates' columns halved: the activated gates into ``g`` (4, N, u), the cell state
        into ``c_new``, ``tanh(c_new)`` into ``tc`` (None: not kept) and the output into ``h_new``;
        ``tmp`` (N, u) is scratch. CupyOps runs it as one fused kernel."""
        xp = self.xp
        n, u = c_new.shape
        xp.tanh(pre.reshape(n, 4, u).transpose(1, 0, 2), out=g)
        for sigmoids in (g[:2], g[3]):   # 0.5 * tanh(a / 2) + 0.5 on contiguous blocks
            sigmoids *= 0.5
            sigmoids += 0.5
        i, f, candidate, o = g
        xp.multiply(f, c, out=c_new)
        xp.multiply(i, candidate, out=tmp)
        c_new += tmp
        if tc is not None:
            xp.tanh(c_new, out=tc)
            xp.multiply(tc, o, out=h_new)
        else:
            xp.tanh(c_new, out=h_new)
            h_new *= o

    def _lstm_gate_grads(self, dct, dh, coef, f, dz_blocks, dc_prev) -> None:
        """One BPTT step's gate pre-activation gradients into the four ``dz_blocks`` (N, u) column
        views (``dct * coef[k]`` for i, f and the candidate, ``dh * coef[3]`` for o) and the cell
        gradient carried back, ``dct * f``, into ``dc_prev``. CupyOps runs it as one fused kernel."""
        xp = self.xp
        # One multiply per gate block: a single broadcast product into the (3, N, u) view of the
        # row-major block columns iterates several times slower.
        for k in range(3):
            xp.multiply(dct, coef[k], out=dz_blocks[k])
        xp.multiply(dh, coef[3], out=dz_blocks[3])
        xp.multiply(dct, f, out=dc_prev)

    def lstm_backward(self, saved, g_outputs, g_h, g_c, input_grad: bool = True):
        """BPTT for :meth:`lstm_forward`: ``(gx, gh0, gc0, gkernel, grecurrent, gbias)``.

        ``input_grad=False`` skips the input gradient (``gx`` is None), as for data fed straight in.
        After a forward with ``zero_h0`` the initial state's gradient ``gh0`` is None.
        """
        xp = self.xp
        (x2, kernel, rk, with_bias, mb, go_backwards, zero_out, hs, gates, cs, tcs, zero_h0) = saved
        steps, _, n, u = gates.shape
        dtype = gates.dtype
        i, f, gg, o = (gates[:, k] for k in range(4))
        # dz_t = [dc*k_i, dc*k_f, dc*k_c, dh*k_o] with dc = dc_{t+1} + dh*q. The factors are
        # gate-major (4, T, N, u) so computing them runs over contiguous memory.
        coef = xp.empty((4, steps, n, u), dtype)
        k_i, k_f, k_c, k_o = coef
        xp.subtract(1, i, out=k_i)
        k_i *= i
        k_i *= gg
        xp.subtract(1, f, out=k_f)
        k_f *= f
        k_f *= cs[:-1]
        xp.multiply(gg, gg, out=k_c)
        xp.subtract(1, k_c, out=k_c)
        k_c *= i
        # tanh(c_t) as forward computed it, before masking carried c over (a masked step's
        # factors are multiplied by zero, so that difference never shows).
        xp.subtract(1, o, out=k_o)
        k_o *= o
        k_o *= tcs
        q = xp.multiply(tcs, tcs)
        xp.subtract(1, q, out=q)
        q *= o
        dz = xp.empty((steps, n, 4 * u), dtype)
        blocks = [slice(k * u, (k + 1) * u) for k in range(4)]
        rk_t = xp.ascontiguousarray(rk.T)   # per-step GEMMs run faster on a contiguous operand
        mf, nmf, g_seq = self._rnn_backward_setup(mb, g_outputs, zero_out, dtype)
        dh = self._rnn_start_grad(g_h, (n, u), dtype)
        dc = self._rnn_start_grad(g_c, (n, u), dtype)
        dct, tmp = xp.empty((n, u), dtype), xp.empty((n, u), dtype)
        dh_loc = dh if mf is None else xp.empty((n, u), dtype)
        for s in range(steps - 1, -1, -1):
            if g_seq is not None:
                dh += g_seq[s]
            xp.multiply(dh, q[s], out=dct)
            dct += dc
            dzs = dz[s]
            if mf is not None:   # split into the step's share and the share carried past it
                dct *= mf[s]
                xp.multiply(dh, mf[s], out=dh_loc)
                dh -= dh_loc
                dc *= nmf[s]
            self._lstm_gate_grads(dct, dh_loc, coef[:, s], f[s], [dzs[:, block] for block in blocks], tmp)
            if mf is None:
                dc, tmp = tmp, dc
                if s or not zero_h0:
                    xp.matmul(dzs, rk_t, out=dh)
            else:
                dc += tmp
                if s or not zero_h0:
                    xp.matmul(dzs, rk_t, out=tmp)
                    dh += tmp
        # With zero_h0, step 0's h_prev is zero: it adds nothing to the recurrent kernel's gradient.
        h_prev = hs[1:-1] if zero_h0 else hs[:-1]
        gx, gw, gu, gb = self._rnn_weight_grads(dz, x2, kernel, with_bias, h_prev, go_backwards,
                                                input_grad=input_grad)
        return gx, None if zero_h0 else dh, dc, gw, gu, gb

    # ------------------------------------------------------------------- GRU
    def gru_forward(self, x, h0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
                    reset_after=True, zero_output_for_mask=False, save=True):
        """Run a GRU over ``x`` ``(N, T, F)``; returns ``(outputs, last_h, saved)``.

        Saved for backward: the activated gates ``[z, r, hh]`` ``(T, N, 3u)``, the hidden
        states ``(T+1, N, u)`` and, with ``reset_after``, the recurrent candidate term
        ``h_{t-1} @ U_h + b_rh`` ``(T, N, u)``; the mask, ``x`` time-major ``(T*N, F)`` and
        references to the weights.
        """
        xp = self.xp
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        u2 = 2 * u
        dtype = x.dtype
        scale, _ = self._rnn_gate_scale((True, True, False), u, dtype)
        if bias is None:
            in_bias = rec_bias = None
        elif reset_after:
            in_bias, rec_bias = bias[0] * scale, bias[1] * scale
        else:
            in_bias, rec_bias = bias * scale, None
        xw, x2 = self._rnn_projection(x, kernel * scale, in_bias, go_backwards)
        mb = self._rnn_mask(mask, go_backwards)
        keep = None if mb is None else ~mb
        hs = self._rnn_states(h0, steps)
        gates = xp.empty((steps if save else 1, n, 3 * u), dtype)
        rec_h = xp.empty((steps, n, u), dtype) if (save and reset_after) else None
        if reset_after:
            rk = recurrent_kernel * scale
            rr = xp.empty((n, 3 * u), dtype)
        else:
            rk_zr, rk_h = recurrent_kernel[:, :u2] * 0.5, xp.ascontiguousarray(recurrent_kernel[:, u2:])
            rr = xp.empty((n, u2), dtype)
            rh = xp.empty((n, u), dtype)
            tmp = xp.empty((n, u), dtype)
        for s in range(steps):
            h, h_new, xs = hs[s], hs[s + 1], xw[s]
            g = gates[s if save else 0]
            if reset_after:
                xp.matmul(h, rk, out=rr)
                if rec_bias is not None:
                    rr += rec_bias
                self._gru_cell(rr, xs, h, g, h_new, rec_h[s] if save else None)
            else:
                zr, hh = g[:, :u2], g[:, u2:]
                xp.matmul(h, rk_zr, out=rr)
                rr += xs[:, :u2]
                xp.tanh(rr, out=zr)
                zr *= 0.5
                zr += 0.5
                xp.multiply(zr[:, u:], h, out=rh)
                xp.matmul(rh, rk_h, out=tmp)
                xp.add(tmp, xs[:, u2:], out=hh)
                xp.tanh(hh, out=hh)
                xp.subtract(h, hh, out=h_new)
                h_new *= zr[:, :u]
                h_new += hh
            if keep is not None:
                xp.copyto(h_new, h, where=keep[s])
        outputs = self._rnn_outputs(hs, mb, zero_output_for_mask)
        saved = None
        if save:
            saved = (x2, kernel, recurrent_kernel, bias is not None, mb, go_backwards, reset_after,
                     zero_output_for_mask, hs, gates, rec_h)
        return outputs, hs[steps].copy(), saved

    def _gru_cell(self, rr, xs, h, g, h_new, rec_h) -> None:
        """One ``reset_after`` GRU step after its GEMM: ``rr`` (N, 3u) is ``h @ U + b_r`` (the
        sigmoid gates' columns halved, as in ``xs``, the step's input projection), ``h`` the
        previous state. Writes the activated gates ``[z, r, hh]`` into ``g`` (N, 3u), the new
        state into ``h_new`` and the recurrent candidate term ``rr[:, 2u:]`` into ``rec_h``
        (None: not kept); may overwrite ``rr``. CupyOps runs it as one fused kernel."""
        xp = self.xp
        u2 = 2 * h.shape[1]
        zr, hh = g[:, :u2], g[:, u2:]
        pre = rr[:, :u2]
        pre += xs[:, :u2]
        xp.tanh(pre, out=zr)
        zr *= 0.5
        zr += 0.5
        xp.multiply(zr[:, u2 // 2:], rr[:, u2:], out=hh)
        hh += xs[:, u2:]
        if rec_h is not None:
            rec_h[...] = rr[:, u2:]
        xp.tanh(hh, out=hh)
        xp.subtract(h, hh, out=h_new)
        h_new *= zr[:, :u2 // 2]
        h_new += hh

    def _gru_gate_grads(self, dh, coef, k_rh, z, dxs, drs) -> None:
        """One ``reset_after`` BPTT step: the input pre-activation gradients ``dh * coef[k]`` into
        ``dxs`` (N, 3, u), the recurrent ones (the same for z and r, ``dh * k_rh`` for the
        candidate) into ``drs`` (N, 3, u), then ``dh *= z`` (the share carried to the previous
        step). CupyOps runs it as one fused kernel."""
        xp = self.xp
        xp.multiply(dh, coef, out=dxs.transpose(1, 0, 2))
        drs[:, :2] = dxs[:, :2]
        xp.multiply(dh, k_rh, out=drs[:, 2])
        dh *= z

    def gru_backward(self, saved, g_outputs, g_h, input_grad: bool = True):
        """BPTT for :meth:`gru_forward`: ``(gx, gh0, gkernel, grecurrent, gbias)``."""
        xp = self.xp
        (x2, kernel, rk, with_bias, mb, go_backwards, reset_after, zero_out, hs, gates, rec_h) = saved
        steps, n, three_u = gates.shape
        u = three_u // 3
        u2 = 2 * u
        dtype = gates.dtype
        h_prev = hs[:-1]
        z, r, hh = (gates[..., k * u:(k + 1) * u] for k in range(3))
        # Factors of dh in the step's input pre-activation gradients [k_z, k_r, k_h] (gate-major).
        coef = xp.empty((3, steps, n, u), dtype)
        k_z, k_r, k_h = coef
        one_minus_z = xp.subtract(1, z)
        xp.multiply(hh, hh, out=k_h)
        xp.subtract(1, k_h, out=k_h)
        k_h *= one_minus_z                               # d hh-preactivation / dh
        xp.subtract(h_prev, hh, out=k_z)
        k_z *= one_minus_z
        k_z *= z
        xp.subtract(1, r, out=k_r)
        k_r *= r
        dx = xp.empty((steps, n, 3, u), dtype)           # input pre-activation grads
        dx_rows = dx.reshape(steps, n, 3 * u)
        mf, nmf, g_seq = self._rnn_backward_setup(mb, g_outputs, zero_out, dtype)
        dh = self._rnn_start_grad(g_h, (n, u), dtype)
        tmp = xp.empty((n, u), dtype)
        dh_loc = dh if mf is None else xp.empty((n, u), dtype)
        if reset_after:
            k_r *= rec_h
            k_r *= k_h
            k_rh = one_minus_z                           # factor of the recurrent hh term: k_h * r
            xp.multiply(k_h, r, out=k_rh)
            dr = xp.empty((steps, n, 3, u), dtype)       # recurrent pre-activation grads
            dr_rows = dr.reshape(steps, n, 3 * u)
            rk_t = xp.ascontiguousarray(rk.T)
        else:
            k_r *= h_prev                                # times d(r*h_{t-1}) at each step
            rk_zr_t, rk_h_t = xp.ascontiguousarray(rk[:, :u2].T), xp.ascontiguousarray(rk[:, u2:].T)
            d_rh = xp.empty((n, u), dtype)
        for s in range(steps - 1, -1, -1):
            if g_seq is not None:
                dh += g_seq[s]
            if mf is not None:
                xp.multiply(dh, mf[s], out=dh_loc)
                dh -= dh_loc                             # dh keeps the share carried past the step
            dxs = dx[s]
            if reset_after:
                self._gru_gate_grads(dh_loc, coef[:, s], k_rh[s], z[s], dxs, dr[s])
                xp.matmul(dr_rows[s], rk_t, out=tmp)
            else:
                xp.multiply(dh_loc, k_z[s], out=dxs[:, 0])
                xp.multiply(dh_loc, k_h[s], out=dxs[:, 2])
                xp.matmul(dxs[:, 2], rk_h_t, out=d_rh)
                xp.multiply(d_rh, k_r[s], out=dxs[:, 1])
                xp.matmul(dx_rows[s, :, :u2], rk_zr_t, out=tmp)
                d_rh *= r[s]
                tmp += d_rh
                dh_loc *= z[s]
            if mf is not None:
                dh += dh_loc
            dh += tmp
        if reset_after:
            gx, gw, gu, gb_in = self._rnn_weight_grads(dx_rows, x2, kernel, with_bias, h_prev, go_backwards,
                                                       dz_rec=dr_rows, input_grad=input_grad)
            gb = xp.stack([gb_in, dr.reshape(steps * n, 3 * u).sum(axis=0)]) if with_bias else None
            return gx, dh, gw, gu, gb
        # reset_after=False: the U_h product's left operand is r * h_{t-1}, not h_{t-1}.
        dx2 = dx_rows.reshape(steps * n, 3 * u)
        gx, gw, gb = self.dense_backward(dx2, x2, kernel, with_bias, input_grad)
        if gx is not None:
            gx = self._rnn_batch_major(gx.reshape(steps, n, -1), go_backwards)
        gu = xp.empty(rk.shape, dtype)
        gu[:, :u2] = xp.matmul(h_prev.reshape(steps * n, u).T, dx2[:, :u2])
        gu[:, u2:] = xp.matmul((h_prev * r).reshape(steps * n, u).T, dx2[:, u2:])
        return gx, dh, gw, gu, gb

    # ------------------------------------------------------------- SimpleRNN
    def simple_rnn_forward(self, x, h0, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
                           activation="tanh", zero_output_for_mask=False, save=True):
        """Run a SimpleRNN over ``x`` ``(N, T, F)``; returns ``(outputs, last_h, saved)``.

        Saved for backward: the hidden states ``(T+1, N, u)`` (the activation's derivative is
        recomputed from them), the mask, ``x`` time-major ``(T*N, F)`` and references to the
        weights.
        """
        if activation not in _ACTIVATIONS:
            raise ValueError(f"simple_rnn activation must be one of {_ACTIVATIONS}, got {activation!r}.")
        xp = self.xp
        n, steps, _ = x.shape
        u = recurrent_kernel.shape[0]
        dtype = x.dtype
        xw, x2 = self._rnn_projection(x, kernel, bias, go_backwards)
        mb = self._rnn_mask(mask, go_backwards)
        keep = None if mb is None else ~mb
        hs = self._rnn_states(h0, steps)
        tmp = xp.empty((n, u), dtype)
        for s in range(steps):
            h, a = hs[s], hs[s + 1]
            xp.matmul(h, recurrent_kernel, out=tmp)
            self._simple_rnn_cell(tmp, xw[s], a, activation)
            if keep is not None:
                xp.copyto(a, h, where=keep[s])
        outputs = self._rnn_outputs(hs, mb, zero_output_for_mask)
        saved = None
        if save:
            saved = (x2, kernel, recurrent_kernel, bias is not None, mb, go_backwards, activation,
                     zero_output_for_mask, hs)
        return outputs, hs[steps].copy(), saved

    def _simple_rnn_cell(self, rec, xs, a, activation: str) -> None:
        """One SimpleRNN step after its GEMM: ``a = activation(rec + xs)``. CupyOps runs it as one
        fused kernel."""
        xp = self.xp
        xp.add(rec, xs, out=a)
        if activation == "tanh":
            xp.tanh(a, out=a)
        elif activation == "relu":
            xp.maximum(a, 0, out=a)
        elif activation == "sigmoid":
            a *= 0.5
            xp.tanh(a, out=a)
            a *= 0.5
            a += 0.5

    def simple_rnn_backward(self, saved, g_outputs, g_h, input_grad: bool = True):
        """BPTT for :meth:`simple_rnn_forward`: ``(gx, gh0, gkernel, grecurrent, gbias)``."""
        xp = self.xp
        (x2, kernel, rk, with_bias, mb, go_backwards, activation, zero_out, hs) = saved
        steps = hs.shape[0] - 1
        n, u = hs.shape[1:]
        dtype = hs.dtype
        h_new = hs[1:]
        if activation == "tanh":
            deriv = h_new * h_new
            xp.subtract(1, deriv, out=deriv)
        elif activation == "relu":
            deriv = (h_new > 0).astype(dtype)
        elif activation == "sigmoid":
            deriv = xp.subtract(1, h_new)
            deriv *= h_new
        else:
            deriv = None
        dz = xp.empty((steps, n, u), dtype)
        rk_t = xp.ascontiguousarray(rk.T)   # per-step GEMMs run faster on a contiguous operand
        mf, nmf, g_seq = self._rnn_backward_setup(mb, g_outputs, zero_out, dtype)
        dh = self._rnn_start_grad(g_h, (n, u), dtype)
        tmp = xp.empty((n, u), dtype)
        dh_loc = dh if mf is None else xp.empty((n, u), dtype)
        for s in range(steps - 1, -1, -1):
            if g_seq is not None:
                dh += g_seq[s]
            if mf is not None:
                xp.multiply(dh, mf[s], out=dh_loc)
                dh -= dh_loc
            if deriv is None:
                dz[s] = dh_loc
            else:
                xp.multiply(dh_loc, deriv[s], out=dz[s])
            if mf is None:
                xp.matmul(dz[s], rk_t, out=dh)
            else:
                xp.matmul(dz[s], rk_t, out=tmp)
                dh += tmp
        gx, gw, gu, gb = self._rnn_weight_grads(dz, x2, kernel, with_bias, hs[:-1], go_backwards,
                                                input_grad=input_grad)
        return gx, dh, gw, gu, gb
