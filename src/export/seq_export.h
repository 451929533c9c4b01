// Export a trained next-item model (SASRec, BERT4Rec) to the runtime's next-item .rpm kind
// (runtime/next_item_model.h).
#pragma once

#include <string>
#include <vector>

#include "models/seq/seq_model.h"
#include "runtime/next_item_model.h"

namespace recpress {

// The runtime content of `model` with the raw ids of its items. Throws Error for a model of
// another family or without the parameters its family has.
runtime::NextItemContent seq_export_content(SeqModel& model, std::vector<std::string> item_ids);
// The checkpoint at `path` exported, encoded and written atomically. Returns the file's size.
std::size_t export_seq_model(const std::string& checkpoint_path, const std::string& output_path,
                             runtime::DType dtype);

}  // namespace recpress
