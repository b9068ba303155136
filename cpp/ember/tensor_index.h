#pragma once
// Python's indexing in C++: x[0, 1:3, None, ..., mask] is a list of
// TensorIndex items that index() reads and index_put_() writes, with torch's
// results, errors and graph nodes (ops/indexing.cpp).

#include <optional>
#include <variant>
#include <vector>

#include "ember/tensor.h"

namespace ember {

// start:stop:step; an absent part is one Python leaves out (x[::2]).
struct Slice {
  std::optional<int64_t> start;
  std::optional<int64_t> stop;
  std::optional<int64_t> step;
};
struct NewAxis {};   // None: a new dim of size 1
struct Ellipsis {};  // ...: full slices over the dims no other item takes

// One item of an index: an integer, a slice, None, Ellipsis, a bool (a 0-d
// mask) or a tensor (int64, int32 or uint8/bool mask).
class TensorIndex {
 public:
  TensorIndex(int64_t integer) : item_(integer) {}
  TensorIndex(int integer) : item_(int64_t{integer}) {}  // a literal is not a bool
  TensorIndex(bool mask) : item_(mask) {}
  TensorIndex(Slice slice) : item_(slice) {}
  TensorIndex(NewAxis none) : item_(none) {}
  TensorIndex(Ellipsis ellipsis) : item_(ellipsis) {}
  TensorIndex(Tensor tensor) : item_(std::move(tensor)) {}

  const int64_t* integer() const { return std::get_if<int64_t>(&item_); }
  const Slice* slice() const { return std::get_if<Slice>(&item_); }
  bool is_none() const { return std::holds_alternative<NewAxis>(item_); }
  bool is_ellipsis() const { return std::holds_alternative<Ellipsis>(item_); }
  const bool* boolean() const { return std::get_if<bool>(&item_); }
  const Tensor* tensor() const { return std::get_if<Tensor>(&item_); }

 private:
  std::variant<int64_t, Slice, NewAxis, Ellipsis, bool, Tensor> item_;
};

using TensorIndices = std::vector<TensorIndex>;

// self[indices], as torch reads an index tuple: integers select, slices and
// None give views, and the tensor (advanced) items pick elements after them.
Tensor index(const Tensor& self, const TensorIndices& indices);

// torch's IndexError when the items take more dims than self has, checked
// before any item is applied (an index Python cannot read counts as one dim).
void check_index_dims(const Tensor& self, const TensorIndices& indices);

// self[indices] = value: a number fills the indexed elements, a tensor
// (self's dtype where an item is a tensor, as torch's index_put) broadcasts
// to their shape and is copied in, recording the write in the graph.
void index_put_(Tensor& self, const TensorIndices& indices, const Tensor& value);
void index_put_(Tensor& self, const TensorIndices& indices, const Scalar& value);

// self[item] = value with a bare item, not a tuple: a tensor item writes the
// selected rows (or masked elements) of self directly.
void index_put_item_(Tensor& self, const TensorIndex& item, const Tensor& value);
void index_put_item_(Tensor& self, const TensorIndex& item, const Scalar& value);

}  // namespace ember
