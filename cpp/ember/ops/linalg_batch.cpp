// Argument checks, the column-major layout and the helpers of ops/linalg_batch.h.

#include "ember/ops/linalg_batch.h"

namespace ember::linalg {

void check_floating(const Tensor& a, const std::string& fn) {
  if (!is_floating(a->dtype())) {
    throw std::runtime_error(fn + ": Expected a floating point or complex tensor as input. Got " +
                             scalar_type_name(a->dtype()));
  }
}

void check_matrix(const Tensor& a, const std::string& fn, const char* name) {
  if (a->dim() < 2) {
    throw std::runtime_error(fn + ": The input tensor " + name +
                             " must have at least 2 dimensions.");
  }
}

void check_square(const Tensor& a, const std::string& fn, const char* name) {
  check_matrix(a, fn, name);
  const int64_t m = a->shape()[a->dim() - 2], n = a->shape()[a->dim() - 1];
  if (m != n) {
    throw std::runtime_error(fn + ": " + name +
                             " must be batches of square matrices, but they are " +
                             std::to_string(m) + " by " + std::to_string(n) + " matrices");
  }
}

void check_same_dtype(const Tensor& a, const Tensor& b, const std::string& fn, const char* name_a,
                      const char* name_b) {
  if (a->dtype() != b->dtype()) {
    throw std::runtime_error(fn + ": Expected " + name_a + " and " + name_b +
                             " to have the same dtype, but found " + name_a + " of type " +
                             scalar_type_name(a->dtype()) + " and " + name_b + " of type " +
                             scalar_type_name(b->dtype()) + " instead");
  }
}

namespace {

Strides column_major_strides(const Shape& shape) {
  const size_t d = shape.size();
  Strides strides(d, 1);
  const int64_t m = shape[d - 2], n = shape[d - 1];
  strides[d - 2] = 1;
  strides[d - 1] = std::max<int64_t>(m, 1);
  int64_t step = std::max<int64_t>(m * n, 1);
  for (size_t i = d - 2; i-- > 0;) {
    strides[i] = step;
    step *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

}  // namespace

Tensor column_major_copy(const Tensor& a) {
  GradModeGuard no_grad(false);
  const Tensor buffer = contiguous_clone(transpose(a, -2, -1));
  return std::make_shared<TensorImpl>(buffer->storage(), 0, a->shape(),
                                      column_major_strides(a->shape()), a->dtype());
}

Tensor column_major_empty(const Shape& shape, DType dtype) {
  const Tensor buffer = empty(shape, dtype);
  return std::make_shared<TensorImpl>(buffer->storage(), 0, shape, column_major_strides(shape),
                                      dtype);
}

Shape batch_shape(const Tensor& a) { return Shape(a->shape().begin(), a->shape().end() - 2); }

int64_t batch_size(const Tensor& a) { return numel_of(batch_shape(a)); }

Shape with_batch(const Shape& batch, std::initializer_list<int64_t> tail) {
  Shape out = batch;
  for (int64_t t : tail) out.push_back(t);
  return out;
}

std::pair<Tensor, Tensor> broadcast_batches(const Tensor& a, const Tensor& b) {
  const Shape batch = broadcast_shapes(batch_shape(a), batch_shape(b));
  const int64_t da = a->dim(), db = b->dim();
  GradModeGuard no_grad(false);
  return {expand(a, with_batch(batch, {a->shape()[da - 2], a->shape()[da - 1]})),
          expand(b, with_batch(batch, {b->shape()[db - 2], b->shape()[db - 1]}))};
}

Tensor swap_last_dims(const Tensor& t) {
  Shape shape = t->shape();
  Strides strides = t->strides();
  const size_t d = shape.size();
  std::swap(shape[d - 1], shape[d - 2]);
  std::swap(strides[d - 1], strides[d - 2]);
  return std::make_shared<TensorImpl>(t->storage(), t->offset(), shape, strides, t->dtype());
}

Tensor drop_dim(const Tensor& t, int64_t dim) {
  Shape shape = t->shape();
  Strides strides = t->strides();
  const size_t d = static_cast<size_t>(wrap_dim(dim, t->dim()));
  shape.erase(d);
  strides.erase(d);
  return std::make_shared<TensorImpl>(t->storage(), t->offset(), shape, strides, t->dtype());
}

std::string dims_str(const Tensor& t) {
  return std::to_string(t->shape()[t->dim() - 2]) + "x" + std::to_string(t->shape()[t->dim() - 1]);
}

void raise_on_failure(const std::vector<int>& infos, bool batched, const std::string& fn,
                      const std::function<std::string(int)>& describe) {
  for (size_t b = 0; b < infos.size(); ++b) {
    if (infos[b] < 0) {
      throw std::runtime_error(fn + ": argument " + std::to_string(-infos[b]) +
                               " to LAPACK was invalid");
    }
    if (infos[b] > 0) {
      const std::string where =
          batched ? "(Batch element " + std::to_string(b) + "): " : std::string();
      throw LinAlgError(fn + ": " + where + describe(infos[b]));
    }
  }
}

Tensor info_tensor(const std::vector<int>& infos, const Shape& batch) {
  Tensor out = empty(batch, DType::Int64);
  int64_t* data = out->data<int64_t>();
  for (size_t i = 0; i < infos.size(); ++i) data[i] = infos[i];
  return out;
}

Tensor triangle(const Tensor& a, bool lower, int64_t offset) {
  const int64_t rows = a->shape()[a->dim() - 2], cols = a->shape()[a->dim() - 1];
  Tensor keep = empty(Shape{rows, cols}, DType::Bool);
  bool* k = keep->data<bool>();
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      k[i * cols + j] = lower ? j - i <= offset : j - i >= offset;
    }
  }
  return where(keep, a, zeros(Shape{}, a->dtype()));
}

Tensor diag_embed(const Tensor& v) {
  const int64_t k = v->shape()[v->dim() - 1];
  return mul(unsqueeze(v, -1), eye(k, k, v->dtype()));
}

}  // namespace ember::linalg
