// How teachers are wired, shared by the CLI (`train`, `distill`, `ctr distill`) and the study
// runner: teachers named by checkpoint (an ensemble when several), NeuMF's pre-training from GMF
// and MLP, and self-distillation over generations (born-again networks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split.h"
#include "train/ctr_trainer.h"
#include "train/trainer.h"

namespace recpress {

// Top-N teachers: "run/best.pt", "run/best.pt@0.7" (a weight; all or none weighted, else the
// mean), or "new:SPEC" (an untrained peer, only with `allow_untrained`: online distillation).
// One source gives that model; several an EnsembleTeacher. Throws Error naming the bad source.
TopNModelPtr load_topn_teachers(const std::vector<std::string>& sources, bool allow_untrained,
                                const Dataset& data);

// NeuMF pre-training (He et al., WWW 2017, sec. 3.4.1): `paths` is "GMF.pt,MLP.pt"; the head
// mixes the two with `alpha`. Throws Error when `model` is not NeuMF or a path is not the kind.
void pretrain_neumf(TopNModel& model, const std::string& paths, double alpha, const Dataset& data);

// Born-again networks (Furlanello et al., ICML 2018): generation k is a model of the teacher's
// architecture trained from generation k-1 (generation 0 = `teacher`) with `methods`, into
// output/genK (nothing written when `output` is empty). Generation k is initialised from
// seed + k.
struct Generation {
  int generation = 0;
  TrainResult result;
};
std::vector<Generation> train_born_again(const Dataset& data, const Split& split,
                                         TopNModelPtr teacher, const TrainConfig& config,
                                         const std::vector<std::string>& methods, int generations,
                                         const std::string& output, std::uint64_t seed);

// CTR teachers: one checkpoint, or several trained on the same rows and features (their mean of
// logits is the teacher: CtrEnsemble). Throws Error naming the checkpoint that differs.
struct CtrTeachers {
  std::vector<CtrCheckpoint> checkpoints;
  CtrModelPtr model;
};
CtrTeachers load_ctr_teachers(const std::vector<std::string>& paths);

}  // namespace recpress
