// Export a trained CTR model (LR, FM, Wide & Deep, DeepFM, DNN) with its fitted feature encoder to
// the runtime's CTR .rpm kind (runtime/ctr_model.h).
#pragma once

#include <string>

#include "models/ctr/ctr_model.h"
#include "runtime/ctr_model.h"

namespace recpress {

// The runtime content of `model` (its parts(), ctr_model.h) and `encoder`. Throws Error for a
// model without parts (one that cannot be exported).
runtime::CtrContent ctr_export_content(CtrModel& model, const CtrEncoder& encoder);
// The checkpoint at `path` exported, encoded and written atomically. Returns the file's size.
std::size_t export_ctr_model(const std::string& checkpoint_path, const std::string& output_path,
                             runtime::DType dtype);

}  // namespace recpress
