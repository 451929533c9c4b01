// Knowledge distillation for top-N models: one method per file, each a loss term over
// (teacher, student, batch), registered by name so a recipe can say `distill: rd:k=10`.
//
// The Trainer adds sum_k weight_k * distiller_k.loss(...) to the student's own loss. Whatever a
// method needs from a frozen teacher (top-K lists, ...) is computed once in prepare(), not per
// batch.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/rng.h"
#include "data/interaction_matrix.h"
#include "models/model_spec.h"
#include "models/topn/model.h"

namespace recpress {

struct DistillBatch {
  torch::Tensor users;  // int64 [B], the distinct users of the student's mini-batch
  torch::Tensor items;  // int64 [I], the distinct items (positives and negatives) of the batch
  Rng* rng = nullptr;   // the epoch's generator: candidates drawn here keep runs reproducible
  double progress = 0;  // schedules' progress in [0, 1] (train option anneal_epochs)
  // The student's logits of pairs, as student.forward gives them, and its "user" / "item"
  // representations, as entity_representation gives them. A method that reads the student only
  // through score() and entity() (student_through_batch()) can then be trained by the native step
  // (train/ncf_step.h), which sets these to answer from its own rows; unset: the model's.
  std::function<torch::Tensor(const torch::Tensor& users, const torch::Tensor& items)>
      student_scores = nullptr;
  torch::Tensor score(TopNModel& student, const torch::Tensor& users,
                      const torch::Tensor& items) const {
    return student_scores ? student_scores(users, items) : student.forward(users, items);
  }
  std::function<torch::Tensor(const std::string& kind, const torch::Tensor& index)>
      student_entities = nullptr;
  torch::Tensor entity(TopNModel& student, const std::string& kind,
                       const torch::Tensor& index) const;
};

// The native step's view of the student for a term that computes its loss and gradient by hand
// (Distiller::native_loss): the rows it scores join the step's backward pass (train/ncf_step.h,
// add_rows / set_row_gradient). LibTorch's autograd then costs nothing per batch: at MF-20's
// ~0.3 ms per step, a term's dozen small dispatched ops and their graph were 10x the student's
// own work (docs/results.md, "Distillation methods per epoch").
class StudentRows {
 public:
  virtual ~StudentRows() = default;
  // The student's logits of n (user, item) rows into `scores`; returns the first row's handle.
  virtual std::int64_t score(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
                             float* scores) = 0;
  // Adds d loss / d logit for the rows [first, first + n) of a score() call.
  virtual void add_gradient(std::int64_t first, const float* grad, std::int64_t n) = 0;
  // The logits of rows that take no gradient (a term's look at the student: rank estimates).
  virtual void peek(const std::int64_t* users, const std::int64_t* items, std::int64_t n,
                    float* scores) = 0;
  // The student's "user" / "item" representation (entity_representation) of n ids, [n, width],
  // into `out`, and a term's gradient for those rows (added). For terms that read
  // representations (de); the defaults throw, for views without them.
  virtual std::int64_t entity_width(const std::string& kind);
  virtual void entity(const std::string& kind, const std::int64_t* ids, std::int64_t n, float* out);
  virtual void add_entity_gradient(const std::string& kind, const std::int64_t* ids, std::int64_t n,
                                   const float* grad);
};

// Adds `grad` to a term parameter's .grad() (defining it): how a term computed by hand hands its
// own parameters' gradients to the optimiser's step.
void add_gradient(torch::Tensor& parameter, const torch::Tensor& grad);

// A term's share of a native step: the loss whose gradient it already added through StudentRows
// (weighted), and the rest as an autograd tensor (weighted; undefined when there is none).
struct NativeTerm {
  double by_hand = 0;
  torch::Tensor autograd;
};

class Distiller {
 public:
  virtual ~Distiller() = default;
  virtual std::string name() const = 0;
  // Called once before training with the frozen teacher, the student and the training
  // interactions: precompute what the teacher knows (top-K lists), create projections sized by
  // both models' dimensions (throwing Error for incompatible shapes).
  virtual void prepare(TopNModel& teacher, TopNModel& student, const InteractionMatrix& train) {}
  // Called at the start of every epoch with the epoch's generator: methods that draw per-user
  // samples once per epoch (as the DE-RRD authors' code does for RRD) draw them here.
  virtual void start_epoch(Rng& rng) {}
  // Online (mutual) training calls loss() both ways, with the roles of the two models swapped.
  // Only methods that neither cache the teacher's rankings nor own shape-specific parameters
  // (projections from the student's to the teacher's space) can do that.
  virtual bool supports_online() const { return false; }
  // True for a method that trains the teacher too (bd): the Trainer then runs it online, and a
  // study gives the run its own copy of the teacher.
  virtual bool trains_teacher() const { return false; }
  // True when loss() reads the student only through batch.score() and batch.entity() (no hidden
  // layers): the native step can then train the student with it.
  virtual bool student_through_batch() const { return false; }
  // The distillation loss for this batch (a scalar that backpropagates into the student).
  virtual torch::Tensor loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch) = 0;
  // The term for the native step, `weight` times loss(): by default all of it through autograd.
  // A method that overrides it computes the same loss and its gradient by hand, drawing from
  // batch.rng exactly as loss() does (tests/train/ncf_step_test.cc compares whole runs of both).
  virtual NativeTerm native_loss(TopNModel& teacher, TopNModel& student, const DistillBatch& batch,
                                 StudentRows& rows, double weight) {
    return {0, weight * loss(teacher, student, batch)};
  }
  // Trainable parts of the method itself (e.g. projections, experts), optimised with the student.
  virtual std::vector<torch::Tensor> parameters() { return {}; }
  // Other state a resumed run needs (an adversary's discriminator and its optimiser): last.pt.
  virtual void save(torch::serialize::OutputArchive&) const {}
  virtual void load(torch::serialize::InputArchive&) {}
};

using DistillerPtr = std::shared_ptr<Distiller>;
using DistillerFactory = std::function<DistillerPtr(const ModelSpec& spec)>;

// `params`: the method's declared parameters (core/params.h), checked and defaulted before the
// factory runs; std::nullopt for a method that checks its own (nested or generated keys).
void register_distiller(const std::string& name, const std::string& help,
                        std::optional<ParamDecls> params, DistillerFactory factory);
// "kd:temperature=2,candidates=50". Throws Error for an unknown name (listing the known ones) or
// bad parameters.
DistillerPtr create_distiller(const ModelSpec& spec);
std::vector<std::pair<std::string, std::string>> distillers();
std::vector<std::tuple<std::string, std::string, ParamDecls>> distiller_params();  // declared

// Weighted distillation terms from "name[:params][@weight]" strings ("kd", "de@0.1",
// "derrd:de=0.1"); a string may join several with '+' ("hint+kd"). Throws Error naming the bad one.
std::vector<std::pair<DistillerPtr, double>> parse_distillation_terms(
    const std::vector<std::string>& methods);

struct DistillerRegistrar {
  DistillerRegistrar(const std::string& name, const std::string& help,
                     std::optional<ParamDecls> params, DistillerFactory factory) {
    register_distiller(name, help, std::move(params), std::move(factory));
  }
};
// RECPRESS_REGISTER_DISTILLER("kd", help, (ParamDecls{...}), make_kd), or std::nullopt.
#define RECPRESS_REGISTER_DISTILLER(name, help, params, factory)                      \
  static const ::recpress::DistillerRegistrar recpress_distiller_registrar_##factory( \
      name, help, params, factory)

// The teacher's `k` best items for every user, excluding the user's training items: int64
// [num_users, k], best first. Computed in batches of users through score_all.
// Every score of a frozen teacher, computed once per run, so that a method that scores items drawn
// per batch (kd) looks them up instead of running the teacher on every batch. Holds the matrix
// when users x items fits `max_bytes` (fp32), else nothing (`cached()` false: score live).
class TeacherScores {
 public:
  void compute(TopNModel& teacher, std::int64_t max_bytes);
  // The teacher's scores of (users[k], items[k]) when `teacher` is the one cached, else computed
  // by teacher.forward (an online peer, a catalog too large to cache); no gradient either way.
  torch::Tensor lookup(TopNModel& teacher, const torch::Tensor& users, const torch::Tensor& items);
  bool cached() const { return scores_.defined(); }
  // The cached [users, items] matrix (row-major) when `teacher` is the one cached, else nullptr.
  const float* matrix(const TopNModel& teacher) const {
    return &teacher == teacher_ && scores_.defined() ? scores_.data_ptr<float>() : nullptr;
  }

 private:
  const TopNModel* teacher_ = nullptr;
  torch::Tensor scores_;  // [users, items]
};

torch::Tensor teacher_top_items(TopNModel& teacher, const InteractionMatrix& train, std::int64_t k);

// Every user's scores of every item from `model`, without gradient, in blocks of users (a whole
// users x items matrix may not fit): visit(first user, users in the block, scores [n, items],
// contiguous). What a method computes once per epoch or run from a full ranking goes through it.
void for_each_user_block(
    TopNModel& model, const std::function<void(std::int64_t, std::int64_t, torch::Tensor)>& visit);

// The representation `kind` ("user" or "item") of the given entities, as the model's
// representations() names them. Throws Error if the model exposes no such representation.
torch::Tensor entity_representation(TopNModel& model, const std::string& kind,
                                    const torch::Tensor& index);

// The teacher's (computed without gradient) and the student's representation `kind` of the same
// entities.
struct RepresentationPair {
  torch::Tensor teacher, student;
};
// The student's side through batch.entity().
RepresentationPair representation_pair(TopNModel& teacher, TopNModel& student,
                                       const std::string& kind, const torch::Tensor& index,
                                       const DistillBatch& batch);

// Indices drawn from a categorical distribution per row: probs [B, n] (rows sum to anything
// positive) -> int64 [B, m], without replacement: the distribution of Gumbel top-m (Kool et al.
// 2019), by successive inverse-CDF draws with rejection in C++, in the order drawn.
torch::Tensor sample_without_replacement(const torch::Tensor& weights, std::int64_t m, Rng& rng);

// Where a ranking method's draws from the teacher's list fall by default (issue 23): from the
// catalog size alone, so that no dataset needs its own flags. The rank weights exp(-rank / T) of
// DE-RRD's eq. 7 with T = clamp(items / 32, 10, 100) over the teacher's top-(5 T) (at most half the
// catalog), and clamp(pool / 12, 10, 40) draws per user:
//   400 items -> 10 of the top-63, T = 12.5 (near the paper's 10 of the top-100, T = 10);
//   1,682 (ml-100k) -> 21 of the top-263, T = 52.6;   >= 3,200 (ml-1m) -> 40 of the top-500, T =
//   100.
// Why: a held-out item sits far below the teacher's top-30, where T = 10 puts 95% of the weight
// (on ml-1m T = 100 over the top-500 lifted the student +11.8% where T = 10 lost 1.5%, and it
// lifted an unseen 0.2%-dense catalog several times ml-1m's by +14%; docs/results.md, "what held
// DE-RRD back"); on a small catalog the same spread covers most of it and hurt (the 400-item
// synthetic set), hence the scaling below 3,200 items. The cap at T = 100 is where it was
// measured; larger catalogs keep it (a 20-dim student cannot order thousands of items anyway).
struct RankRegion {
  std::int64_t pool = 0;   // the teacher's top items drawn from
  double temperature = 0;  // rank temperature T
  std::int64_t draws = 0;  // items drawn per user
};
RankRegion default_rank_region(std::int64_t num_items);

// `decl` with its default derived at prepare() from the data (the rank region above) instead of
// a fixed value; its doc says the rule.
inline ParamDecl derived_default(ParamDecl decl) {
  decl.default_value = "";
  return decl;
}
// The rank-region parameters rrd and kd share: `count_key` draws per user, pool and t, each
// derived from the catalog (default_rank_region) unless given.
ParamDecls rank_region_params(const std::string& count_key, const std::string& count_doc);
// The region a spec asks for: each given key, else the catalog's default.
RankRegion rank_region_of(const ModelSpec& spec, const std::string& count_key,
                          std::int64_t num_items);

// Draws of k distinct ranks in [0, pool) with P(rank r) ~ exp(-(r + 1) / T), for each of `rows`,
// sorted best first: int64 [rows, k]. Successive sampling proportional to the weights among the
// ranks not yet drawn -- the distribution of Gumbel top-k (Kool et al., ICML 2019) -- by an
// alias-table draw (Walker 1977) with rejection of repeats: O(k) per row instead of the O(pool)
// noise and top-k of sample_without_replacement. A row whose draws keep repeating (weights so sharp
// that few ranks carry them) finishes by Gumbel top-k over the ranks it lacks.
class RankSampler {
 public:
  RankSampler() = default;
  RankSampler(std::int64_t pool, double temperature);
  torch::Tensor draw(std::int64_t rows, std::int64_t k, Rng& rng) const;
  std::int64_t pool() const { return static_cast<std::int64_t>(log_weights_.size()); }

 private:
  std::vector<double> log_weights_, accept_;
  std::vector<std::int64_t> alias_;
};

// Uniformly drawn item candidates for each user of a batch: int64 [B, n] (may include positives;
// for response-based KD the teacher's opinion of every item is informative).
torch::Tensor sample_candidates(std::int64_t batch, std::int64_t n, std::int64_t num_items,
                                Rng& rng);

}  // namespace recpress
