#include "ember/dtype.h"

#include "ember/shape.h"

namespace ember {

void throw_not_implemented_for(DType t) {
  throw NotImplementedError(std::string("operation not implemented for '") + scalar_type_name(t) +
                            "'");
}

}  // namespace ember
