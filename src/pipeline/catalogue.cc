#include "pipeline/catalogue.h"

#include <sstream>
#include <tuple>
#include <vector>

#include "distill/ctr/distiller.h"
#include "distill/seq/distiller.h"
#include "distill/topn/distiller.h"
#include "models/ctr/ctr_model.h"
#include "models/seq/seq_model.h"
#include "models/topn/model.h"

namespace recpress::pipeline {
namespace {

using Entries = std::vector<std::tuple<std::string, std::string, ParamDecls>>;

// One table: name, what it is (the registered help), its parameters with their defaults.
void table(std::ostringstream& o, const Entries& entries) {
  o << "| name | what it is | parameters (defaults) |\n|---|---|---|\n";
  for (const auto& [name, help, params] : entries) {
    const std::string p = params_summary(params);
    o << "| `" << name << "` | " << help << " | " << (p.empty() ? "-" : p) << " |\n";
  }
}

}  // namespace

std::string catalogue_reference() {
  std::ostringstream o;
  o << "# Models and distillation methods\n\n"
       "Generated from the registries (`recpress run --catalogue`); a test checks this file "
       "against\n"
       "them. One file each, registered by name, so a recipe or the CLI says `student: mf`,\n"
       "`--method derrd`; adding one is adding its file. The descriptions are the ones written "
       "in\n"
       "those files, the parameters their declarations, with types, bounds and meanings in\n"
       "[docs/recipes.md, \"Model parameters\"](recipes.md#model-parameters) and\n"
       "[\"Distillation method parameters\"](recipes.md#distillation-method-parameters).\n"
       "`recpress train --help`, `recpress distill --help` (CTR: `recpress ctr ...`, next item:\n"
       "`recpress seq ...`) list the same.\n\n"
       "## Top-N models (`src/models/topn/`)\n\n";
  table(o, topn_model_params());
  o << "\nAll of them export to the runtime (`.rpm`).\n\n"
       "## Top-N distillation (`src/distill/topn/`)\n\n";
  table(o, distiller_params());
  o << "\nSchemes (how the trainer wires teachers): offline (frozen teacher, what it knows cached\n"
       "once), online (deep mutual learning, Zhang et al., CVPR 2018: `--scheme online`), self\n"
       "(born-again networks, Furlanello et al., ICML 2018: `--scheme self`), multi-teacher (an\n"
       "ensemble of teachers, mean or weighted scores). Terms compose: `--method de@0.1 --method\n"
       "rrd`, or `hint+kd` in a recipe.\n\n"
       "## CTR models (`src/models/ctr/`)\n\n"
       "Inputs come from the feature encoder (`src/data/ctr_encoder.h`): one global id per "
       "sparse\n"
       "value (vocabulary from the training split, an OOV bucket per field, optional hashing),\n"
       "mean-pooled multi-hot fields, dense numerics as value x vector, and wide-only "
       "cross-product\n"
       "fields. Each model exposes `embeddings` [B, F, d] and `hidden1..N` for hint "
       "distillation.\n\n";
  table(o, ctr_model_params());
  o << "\n## CTR distillation (`src/distill/ctr/`)\n\n";
  table(o, ctr_distiller_params());
  o << "\nMulti-teacher: several `--teacher` checkpoints (or a recipe's `ensemble`) make an\n"
       "ensemble (mean of logits) that `kd` uses.\n\n"
       "## Next-item models (`src/models/seq/`)\n\n"
       "Own transformer layers (`seq_model.h`), so every layer's hidden states and per-head\n"
       "attention maps are exposed. Sequences are right-aligned; the latest `max_len` items are\n"
       "kept.\n\n";
  table(o, seq_model_params());
  o << "\n## Next-item distillation (`src/distill/seq/`)\n\n"
       "Teacher and student encode the same training input, so they must be of one family.\n\n";
  table(o, seq_distiller_params());
  return o.str();
}

}  // namespace recpress::pipeline
