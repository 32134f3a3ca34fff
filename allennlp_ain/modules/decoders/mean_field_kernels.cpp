// Fused CPU kernels for the mean-field (AIN) decoder, float32, label-major layout.
//
// Built on first use by `mean_field_kernels.py` (torch.utils.cpp_extension), which keeps the
// plain PyTorch operations as the reference and the fallback. Each kernel replaces several
// PyTorch operations that each make a pass over the (labels x positions) array:
//   - label_major: the transposing copy of the logits, zero at padding and in the frames;
//   - softmax: max, subtract, exp2, sum, divide and multiply by the mask, in one pass per block;
//   - softmax_backward: the softmax's Jacobian-vector product in one pass;
//   - batch_major: the transposing copy of a gradient back to (batch, seq, labels), zero at padding;
//   - first_max: the first maximum over the labels.
// Rows are labels, columns are positions; a row stride lets them read and write framed views.

#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <cmath>

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t kWidth = Vec::size();

void check_rows(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.dim() == 2 && t.scalar_type() == torch::kFloat32 && t.stride(1) == 1,
              name, ": a float32 (labels, positions) tensor with contiguous rows");
}

// Runs body(first, last) over [0, count) in tasks of at least `grain`, on ATen's intra-op threads
// only where there is more than one task and more than one thread (waking threads costs more
// than these kernels take on the arrays of a usual batch).
template <typename Body>
void parallel_over(int64_t count, int64_t grain, const Body& body) {
  if (count <= grain || at::get_num_threads() == 1 || at::in_parallel_region()) {
    body(0, count);
    return;
  }
  at::parallel_for(0, count, grain, body);
}

// Runs body(begin, end) over column ranges that start at multiples of the vector width.
template <typename Body>
void for_columns(int64_t n, const Body& body) {
  constexpr int64_t kGrain = 16384 / kWidth;  // vector blocks per task
  parallel_over((n + kWidth - 1) / kWidth, kGrain, [&](int64_t first, int64_t last) {
    body(first * kWidth, std::min(n, last * kWidth));
  });
}

// Sentences per task for the layout copies: about 16,384 values each.
int64_t sentences_per_task(int64_t width, int64_t labels) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width * labels));
}

}  // namespace

// out[l, b, t] = mask[b, t] ? logits[b, t, l] : 0 for t < seq, and 0 for seq <= t < width; and
// real[b, t] = mask[b, t] as a float, 0 in the frame.
void label_major(torch::Tensor logits, torch::Tensor mask, torch::Tensor out, torch::Tensor real) {
  TORCH_CHECK(logits.is_contiguous() && logits.scalar_type() == torch::kFloat32, "label_major: logits");
  TORCH_CHECK(mask.is_contiguous() && mask.scalar_type() == torch::kBool, "label_major: mask");
  TORCH_CHECK(out.is_contiguous() && out.scalar_type() == torch::kFloat32, "label_major: out");
  TORCH_CHECK(real.is_contiguous() && real.scalar_type() == torch::kFloat32, "label_major: real");
  const int64_t batch = logits.size(0), seq = logits.size(1), labels = logits.size(2);
  const int64_t width = out.size(2), size = batch * width;
  TORCH_CHECK(out.size(0) == labels && out.size(1) == batch && width >= seq && real.numel() == size,
              "label_major: shapes");
  const float* in = logits.data_ptr<float>();
  const bool* m = mask.data_ptr<bool>();
  float* o = out.data_ptr<float>();
  float* r = real.data_ptr<float>();
  parallel_over(batch, sentences_per_task(width, labels), [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      for (int64_t t = 0; t < seq; ++t) {
        const float* row = in + (b * seq + t) * labels;
        float* column = o + b * width + t;
        const bool token = m[b * seq + t];
        r[b * width + t] = token ? 1.0f : 0.0f;
        if (token) {
          for (int64_t l = 0; l < labels; ++l) column[l * size] = row[l];
        } else {
          for (int64_t l = 0; l < labels; ++l) column[l * size] = 0.0f;
        }
      }
      for (int64_t t = seq; t < width; ++t) {
        r[b * width + t] = 0.0f;
        for (int64_t l = 0; l < labels; ++l) o[l * size + b * width + t] = 0.0f;
      }
    }
  });
}

// Adds start[l] at each non-empty sentence's first token and end[l] at its last (tokens are
// left-aligned: the last is at the number of tokens minus one), unary (labels, batch, width).
void add_boundaries(torch::Tensor unary, torch::Tensor mask, torch::Tensor start, torch::Tensor end) {
  TORCH_CHECK(unary.is_contiguous() && unary.scalar_type() == torch::kFloat32, "add_boundaries: unary");
  TORCH_CHECK(mask.is_contiguous() && mask.scalar_type() == torch::kBool, "add_boundaries: mask");
  TORCH_CHECK(start.is_contiguous() && end.is_contiguous() && start.scalar_type() == torch::kFloat32 &&
              end.scalar_type() == torch::kFloat32, "add_boundaries: start, end");
  const int64_t labels = unary.size(0), batch = unary.size(1), width = unary.size(2);
  const int64_t seq = mask.size(1), size = batch * width;
  float* u = unary.data_ptr<float>();
  const bool* m = mask.data_ptr<bool>();
  const float* first = start.data_ptr<float>();
  const float* final = end.data_ptr<float>();
  for (int64_t b = 0; b < batch; ++b) {
    if (seq == 0 || !m[b * seq]) continue;
    int64_t tokens = 0;
    for (int64_t t = 0; t < seq; ++t) tokens += m[b * seq + t];
    for (int64_t l = 0; l < labels; ++l) {
      u[l * size + b * width] += first[l];
      u[l * size + b * width + tokens - 1] += final[l];
    }
  }
}

// out[:, c] = real[c] * softmax(scores[:, c] * scale / log2(e)), that is with exp2 of scaled scores.
void softmax(torch::Tensor scores, double scale, torch::Tensor out, torch::Tensor real) {
  check_rows(scores, "softmax: scores");
  check_rows(out, "softmax: out");
  TORCH_CHECK(real.is_contiguous() && real.scalar_type() == torch::kFloat32, "softmax: real");
  const int64_t labels = scores.size(0), n = scores.size(1);
  TORCH_CHECK(out.size(0) == labels && out.size(1) == n && real.numel() == n, "softmax: shapes");
  const float* s = scores.data_ptr<float>();
  const int64_t ss = scores.stride(0);
  float* o = out.data_ptr<float>();
  const int64_t os = out.stride(0);
  const float* r = real.data_ptr<float>();
  const float sc = static_cast<float>(scale);
  const Vec vsc(sc);
  for_columns(n, [&](int64_t begin, int64_t end) {
    int64_t c = begin;
    for (; c + kWidth <= end; c += kWidth) {
      Vec top = Vec::loadu(s + c);
      for (int64_t l = 1; l < labels; ++l) top = at::vec::maximum(top, Vec::loadu(s + l * ss + c));
      Vec sum(0.0f);
      for (int64_t l = 0; l < labels; ++l) {
        const Vec e = ((Vec::loadu(s + l * ss + c) - top) * vsc).exp2();
        e.store(o + l * os + c);
        sum = sum + e;
      }
      const Vec factor = Vec::loadu(r + c) / sum;
      for (int64_t l = 0; l < labels; ++l) (Vec::loadu(o + l * os + c) * factor).store(o + l * os + c);
    }
    for (; c < end; ++c) {
      float top = s[c];
      for (int64_t l = 1; l < labels; ++l) top = std::max(top, s[l * ss + c]);
      float sum = 0.0f;
      for (int64_t l = 0; l < labels; ++l) {
        const float e = std::exp2((s[l * ss + c] - top) * sc);
        o[l * os + c] = e;
        sum += e;
      }
      const float factor = r[c] / sum;
      for (int64_t l = 0; l < labels; ++l) o[l * os + c] *= factor;
    }
  });
}

// out = q * (dq - sum_l q * dq), column by column: the gradient of the softmax's input.
void softmax_backward(torch::Tensor dq, torch::Tensor q, torch::Tensor out) {
  check_rows(dq, "softmax_backward: dq");
  check_rows(q, "softmax_backward: q");
  check_rows(out, "softmax_backward: out");
  const int64_t labels = dq.size(0), n = dq.size(1);
  TORCH_CHECK(q.size(0) == labels && q.size(1) == n && out.size(0) == labels && out.size(1) == n,
              "softmax_backward: shapes");
  const float* d = dq.data_ptr<float>();
  const float* p = q.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const int64_t ds = dq.stride(0), ps = q.stride(0), os = out.stride(0);
  for_columns(n, [&](int64_t begin, int64_t end) {
    int64_t c = begin;
    for (; c + kWidth <= end; c += kWidth) {
      Vec total(0.0f);
      for (int64_t l = 0; l < labels; ++l) total = at::vec::fmadd(Vec::loadu(p + l * ps + c), Vec::loadu(d + l * ds + c), total);
      for (int64_t l = 0; l < labels; ++l) {
        const Vec pl = Vec::loadu(p + l * ps + c);
        (pl * (Vec::loadu(d + l * ds + c) - total)).store(o + l * os + c);
      }
    }
    for (; c < end; ++c) {
      float total = 0.0f;
      for (int64_t l = 0; l < labels; ++l) total += p[l * ps + c] * d[l * ds + c];
      for (int64_t l = 0; l < labels; ++l) o[l * os + c] = p[l * ps + c] * (d[l * ds + c] - total);
    }
  });
}

// out[b, t, l] = mask[b, t] ? framed[l, b, t] : 0 for t < seq, framed (labels, batch, width).
void batch_major(torch::Tensor framed, torch::Tensor mask, torch::Tensor out) {
  TORCH_CHECK(framed.is_contiguous() && framed.scalar_type() == torch::kFloat32, "batch_major: framed");
  TORCH_CHECK(mask.is_contiguous() && mask.scalar_type() == torch::kBool, "batch_major: mask");
  TORCH_CHECK(out.is_contiguous() && out.scalar_type() == torch::kFloat32, "batch_major: out");
  const int64_t labels = framed.size(0), batch = framed.size(1), width = framed.size(2);
  const int64_t seq = out.size(1), size = batch * width;
  const float* in = framed.data_ptr<float>();
  const bool* m = mask.data_ptr<bool>();
  float* o = out.data_ptr<float>();
  parallel_over(batch, sentences_per_task(width, labels), [&](int64_t first, int64_t last) {
  for (int64_t b = first; b < last; ++b) {
    for (int64_t t = 0; t < seq; ++t) {
      float* row = o + (b * seq + t) * labels;
      const float* column = in + b * width + t;
      if (m[b * seq + t]) {
        for (int64_t l = 0; l < labels; ++l) row[l] = column[l * size];
      } else {
        for (int64_t l = 0; l < labels; ++l) row[l] = 0.0f;
      }
    }
  }
  });
}

// The tags: at each token the first maximum over the labels of the framed scores
// (labels, batch, width), as PyTorch's argmax where no score is NaN (a NaN is never greater than
// the best so far: where some are NaN, an index all the same); 0 at padding. (batch, seq) int64.
torch::Tensor first_max(torch::Tensor scores, torch::Tensor mask) {
  TORCH_CHECK(scores.is_contiguous() && scores.scalar_type() == torch::kFloat32 && scores.dim() == 3, "first_max: scores");
  TORCH_CHECK(mask.is_contiguous() && mask.scalar_type() == torch::kBool, "first_max: mask");
  const int64_t labels = scores.size(0), batch = scores.size(1), width = scores.size(2);
  const int64_t seq = mask.size(1), n = batch * width;
  TORCH_CHECK(mask.size(0) == batch && seq <= width, "first_max: shapes");
  auto framed = torch::empty({n}, torch::TensorOptions().dtype(torch::kInt64));
  const float* s = scores.data_ptr<float>();
  int64_t* out = framed.data_ptr<int64_t>();
  for_columns(n, [&](int64_t begin, int64_t end) {
    int64_t c = begin;
    for (; c + kWidth <= end; c += kWidth) {
      // the best so far and its label, the label kept as a float (labels are small integers)
      Vec best = Vec::loadu(s + c);
      Vec index(0.0f);
      for (int64_t l = 1; l < labels; ++l) {
        const Vec v = Vec::loadu(s + l * n + c);
        const Vec better = v > best;  // all ones where strictly greater (false for NaN)
        best = Vec::blendv(best, v, better);
        index = Vec::blendv(index, Vec(static_cast<float>(l)), better);
      }
      float buffer[kWidth];
      index.store(buffer);
      for (int64_t i = 0; i < kWidth; ++i) out[c + i] = static_cast<int64_t>(buffer[i]);
    }
    for (; c < end; ++c) {
      float best = s[c];
      int64_t index = 0;
      for (int64_t l = 1; l < labels; ++l) {
        if (s[l * n + c] > best) {
          best = s[l * n + c];
          index = l;
        }
      }
      out[c] = index;
    }
  });
  auto tags = torch::empty({batch, seq}, torch::TensorOptions().dtype(torch::kInt64));
  int64_t* t = tags.data_ptr<int64_t>();
  const bool* m = mask.data_ptr<bool>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < seq; ++i) t[b * seq + i] = m[b * seq + i] ? out[b * width + i] : 0;
  }
  return tags;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("label_major", &label_major);
  m.def("add_boundaries", &add_boundaries);
  m.def("softmax", &softmax);
  m.def("softmax_backward", &softmax_backward);
  m.def("batch_major", &batch_major);
  m.def("first_max", &first_max);
}
