// Next-item models and their distillation: gradients against finite differences, padding never
// changes a real position's output, SASRec is causal, right alignment keeps the latest items,
// the synthetic Markov sequences are learned (better than popularity and MF), and the distillation
// terms' values and errors.
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "core/errors.h"
#include "data/synthetic.h"
#include "data/transforms.h"
#include "distill/common/emd.h"
#include "distill/seq/distiller.h"
#include "eval/popularity.h"
#include "grad_check.h"
#include "models/seq/adarec.h"
#include "models/seq/seq_model.h"
#include "models/seq/tt_embedding.h"
#include "test_util.h"
#include "train/loop.h"
#include "train/seq_trainer.h"
#include "train/trainer.h"

namespace recpress {
namespace {

using testing::expect_error;

const std::vector<std::string> kModels = {
    "sasrec:max_len=5,hidden=4,layers=2,heads=2,dropout=0,loss=bce",
    "sasrec:max_len=5,hidden=4,layers=1,heads=1,dropout=0,loss=ce",
    "bert4rec:max_len=5,hidden=4,layers=2,heads=2,dropout=0,mask_prob=0.5"};

SeqModelPtr make(const std::string& spec, std::int64_t items = 7) {
  torch::manual_seed(2);
  auto m = create_seq_model(ModelSpec::parse(spec), items);
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("norm") == std::string::npos) p.value().uniform_(-0.5, 0.5);
  }
  return m;
}

// Training sequences [3, max_len + 1]: one full, one short (left padding), one of two items.
torch::Tensor sequences() {
  return right_aligned_tokens({{0, 1, 2, 3, 4, 5, 6}, {3, 2, 1}, {6, 5}}, 6);
}

TEST(SeqModels, GradientsMatchFiniteDifferences) {
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->to(torch::kDouble);
    m->eval();  // no dropout anyway; deterministic
    Rng rng(3);
    const auto batch = m->training_input(sequences(), rng);
    auto loss_of = [&] { return m->loss(m->encode(batch.input), batch); };
    EXPECT_GT(testing::expect_gradients_match(*m, loss_of, spec, 4), 20) << spec;
  }
}

TEST(SeqModels, PaddingNeverChangesARealPosition) {
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->eval();
    torch::NoGradGuard g;
    const auto input = right_aligned_tokens({{3, 2, 1}}, 5);  // [0, 0, 4, 3, 2]
    const auto before = m->encode(input).hidden.narrow(1, 2, 3).clone();
    // Whatever the padding token's embedding holds, the real positions do not see it.
    m->named_parameters()["items.weight"][0].fill_(5.0);
    const auto after = m->encode(input).hidden.narrow(1, 2, 3);
    EXPECT_TRUE(torch::allclose(before, after, 1e-5, 1e-6)) << spec;
  }
}

TEST(SeqModels, SasRecIsCausal) {
  auto m = make(kModels[0]);
  m->eval();
  torch::NoGradGuard g;
  const auto a = m->encode(torch::tensor({{1, 2, 3, 4, 5}}, torch::kLong)).hidden;
  const auto b = m->encode(torch::tensor({{1, 2, 3, 7, 6}}, torch::kLong)).hidden;
  EXPECT_TRUE(
      torch::allclose(a.narrow(1, 0, 3), b.narrow(1, 0, 3)));  // earlier positions unchanged
  EXPECT_FALSE(torch::allclose(a.narrow(1, 3, 1), b.narrow(1, 3, 1)));
  // BERT4Rec is bidirectional: a later item changes earlier positions.
  auto bert = make(kModels[2]);
  bert->eval();
  const auto c = bert->encode(torch::tensor({{1, 2, 3, 4, 5}}, torch::kLong)).hidden;
  const auto d = bert->encode(torch::tensor({{1, 2, 3, 7, 6}}, torch::kLong)).hidden;
  EXPECT_FALSE(torch::allclose(c.narrow(1, 0, 3), d.narrow(1, 0, 3)));
}

TEST(SeqModels, RightAlignmentKeepsTheLatestItemsAndScoresAgree) {
  const auto t = right_aligned_tokens({{0, 1, 2, 3, 4, 5, 6}, {4}}, 4);
  EXPECT_TRUE(torch::equal(t, torch::tensor({{4, 5, 6, 7}, {0, 0, 0, 5}}, torch::kLong)));
  for (const auto& spec : kModels) {
    auto m = make(spec);
    m->eval();
    torch::NoGradGuard g;
    const auto all = m->score_all_next(right_aligned_tokens({{1, 2}, {3}}, 5));
    ASSERT_EQ(all.sizes(), (std::vector<std::int64_t>{2, 7}));
    const auto items = torch::tensor({{6, 0}, {2, 2}}, torch::kLong);
    EXPECT_TRUE(torch::allclose(m->score_next(right_aligned_tokens({{1, 2}, {3}}, 5), items),
                                all.gather(1, items)));
  }
  const auto bert = make(kModels[2]);
  const auto in = bert->inference_input(right_aligned_tokens({{1, 2}}, 5));
  EXPECT_EQ(in[0][4].item<std::int64_t>(), bert->mask_token());
  EXPECT_EQ(in[0][3].item<std::int64_t>(), 3);  // the latest item, shifted left by one
  // BERT4Rec masks at least one real item of every sequence, never padding.
  Rng rng(1);
  const auto b = bert->training_input(sequences(), rng);
  for (std::int64_t r = 0; r < 3; ++r) EXPECT_GT(b.targets[r].gt(0).sum().item<std::int64_t>(), 0);
  EXPECT_EQ(b.targets.index({b.input.eq(0)}).sum().item<std::int64_t>(), 0);
}

TEST(SeqModels, BadSpecs) {
  expect_error([] { create_seq_model(ModelSpec::parse("gru4rec"), 5); },
               {"unknown next-item model", "sasrec"});
  expect_error([] { create_seq_model(ModelSpec::parse("sasrec:hidden=6,heads=4"), 5); },
               {"multiple of heads"});
  expect_error([] { create_seq_model(ModelSpec::parse("sasrec:loss=bpr"), 5); }, {"bce or ce"});
  expect_error([] { create_seq_model(ModelSpec::parse("bert4rec:mask_prob=1.5"), 5); },
               {"mask_prob"});
}

// ---------------------------------------------------------------- OD-Rec's tensor-train items

// The table by the definition, one entry at a time: E[i][j] = sum_{a,b} G1[i1][j1][a]
// G2'[i2][a][j2][b] G3'[i3][b][j3], with G' = G (x) I_t (Cheng's left semi-tensor product).
double tt_entry_by_hand(const TTEmbeddingImpl& tt, std::int64_t i, std::int64_t j) {
  const auto& s = tt.shape();
  const auto t = s.stp, r = s.rank;
  const std::int64_t i3 = i % s.rows[2], i2 = (i / s.rows[2]) % s.rows[1],
                     i1 = i / s.rows[2] / s.rows[1];
  const std::int64_t j3 = j % s.dims[2], j2 = (j / s.dims[2]) % s.dims[1],
                     j1 = j / s.dims[2] / s.dims[1];
  const auto g1 = tt.core1.accessor<double, 3>();
  const auto g2 = tt.core2.accessor<double, 4>();
  const auto g3 = tt.core3.accessor<double, 3>();
  double sum = 0;
  for (std::int64_t a = 0; a < r; ++a)
    for (std::int64_t b = 0; b < r; ++b) {
      const double second = a % t == b % t ? g2[i2][a / t][j2][b / t] : 0.0;
      const double third = b % t == j3 % t ? g3[i3][b / t][j3 / t] : 0.0;
      sum += g1[i1][j1][a] * second * third;
    }
  return sum;
}

TEST(SeqModels, TensorTrainItemTableIsTheCoresSemiTensorProduct) {
  for (const auto& [rows, hidden, rank, stp] : std::vector<std::array<std::int64_t, 4>>{
           {9, 4, 2, 2}, {9, 4, 3, 1}, {42, 8, 4, 2}, {30, 12, 6, 3}}) {
    torch::manual_seed(4);
    TTEmbedding tt(rows, hidden, rank, stp);
    tt->to(torch::kDouble);
    const auto& s = tt->shape();
    EXPECT_GE(s.rows[0] * s.rows[1] * s.rows[2], rows);
    EXPECT_EQ(s.dims[0] * s.dims[1] * s.dims[2], hidden);
    EXPECT_EQ(s.dims[2] % stp, 0);
    std::int64_t numbers = 0;
    for (const auto& p : tt->parameters()) numbers += p.numel();
    EXPECT_EQ(numbers, s.parameters());
    const auto table = tt->table();
    ASSERT_EQ(table.sizes(), (std::vector<std::int64_t>{rows, hidden}));
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < hidden; ++j)
        ASSERT_NEAR(table[i][j].item<double>(), tt_entry_by_hand(*tt, i, j), 1e-12)
            << rows << "x" << hidden << " r" << rank << " t" << stp << " at " << i << "," << j;
    EXPECT_GT(table.abs().max().item<double>(), 1e-4);  // not a comparison of zeros
  }
  // The semi-tensor product stores t^2 fewer numbers in cores 2 and 3.
  const auto plain = TTShape::choose(3708, 64, 16, 1), stp = TTShape::choose(3708, 64, 16, 2);
  EXPECT_EQ(plain.rows, stp.rows);
  EXPECT_LT(stp.parameters(), plain.parameters());
  EXPECT_LT(stp.parameters() * 40, 3708 * 64);
}

const std::vector<std::string> kCompressedModels = {
    "sasrec:max_len=5,hidden=4,layers=1,heads=2,dropout=0,loss=bce,tt_rank=2,stp=2",
    "sasrec:max_len=5,hidden=4,layers=1,heads=1,dropout=0,loss=ce,tt_rank=3",
    "bert4rec:max_len=5,hidden=4,layers=1,heads=2,dropout=0,mask_prob=0.5,tt_rank=2,stp=2"};

TEST(SeqModels, TensorTrainModelsTrainByGradientAndKeepPaddingAndCausality) {
  for (const auto& spec : kCompressedModels) {
    auto m = make(spec);
    ASSERT_TRUE(m->compressed_items()) << spec;
    EXPECT_FALSE(m->items) << spec;  // no plain table anywhere
    m->to(torch::kDouble);
    m->eval();
    Rng rng(3);
    const auto batch = m->training_input(sequences(), rng);
    auto loss_of = [&] { return m->loss(m->encode(batch.input), batch); };
    EXPECT_GT(testing::expect_gradients_match(*m, loss_of, spec, 4), 20) << spec;
    torch::NoGradGuard g;
    // Padding embeds to zeros although the table's row 0 is a product of cores like any other.
    EXPECT_GT(m->token_table()[0].abs().sum().item<double>(), 0) << spec;
    EXPECT_EQ(m->embed_tokens(torch::zeros({2, 3}, torch::kLong)).abs().sum().item<double>(), 0);
    EXPECT_TRUE(
        torch::allclose(m->embed_tokens(torch::tensor({4}, torch::kLong))[0], m->token_table()[4]));
  }
  auto m = make(kCompressedModels[0]);
  m->eval();
  torch::NoGradGuard g;
  const auto a = m->encode(torch::tensor({{1, 2, 3, 4, 5}}, torch::kLong)).hidden;
  const auto b = m->encode(torch::tensor({{1, 2, 3, 7, 6}}, torch::kLong)).hidden;
  EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 3), b.narrow(1, 0, 3)));
  EXPECT_FALSE(torch::allclose(a.narrow(1, 3, 1), b.narrow(1, 3, 1)));
  expect_error(
      [] { create_seq_model(ModelSpec::parse("sasrec:hidden=8,heads=2,tt_rank=3,stp=2"), 5); },
      {"tt_rank (3) must be a multiple of stp (2)"});
  expect_error(
      [] { create_seq_model(ModelSpec::parse("sasrec:hidden=9,heads=3,tt_rank=4,stp=2"), 5); },
      {"no factor divisible by stp"});
  expect_error([] { create_seq_model(ModelSpec::parse("sasrec:stp=2"), 5); },
               {"stp needs tt_rank > 0"});
}

// ---------------------------------------------------------------- training on synthetic data

class SeqTraining : public ::testing::Test {
 protected:
  SeqTraining() : data_(make_data()), split_(make_split(data_, SplitConfig::parse("loo", 1))) {}
  static Dataset make_data() {
    Dataset d =
        generate_synthetic(SyntheticConfig::parse("synthetic:users=400,items=400,markov=0.7"));
    to_implicit(d, std::nullopt);
    return d;
  }
  SeqTrainConfig config(int epochs) {
    SeqTrainConfig c;
    c.epochs = epochs;
    c.patience = 0;
    c.lr = 0.005;
    c.batch_size = 64;
    c.protocol = "sampled:uniform:100";
    c.metrics = "ndcg@10 hr@10";
    c.show_progress = false;
    c.seed = 3;
    return c;
  }
  // Trains `spec` through the shared loop into `dir`, from `resume` when given.
  SeqTrainResult resumable_run(const std::string& spec, const SeqTrainConfig& c,
                               const std::string& dir, const std::string& resume = "") {
    torch::manual_seed(3);
    auto model = create_seq_model(ModelSpec::parse(spec), data_.num_items());
    return SeqTrainer(data_, split_, model, c).fit(dir, resume);
  }
  double ndcg(const Scorer& s) {
    return Evaluator(data_, split_, EvalTarget::kTest, Protocol::parse("sampled:uniform:100"),
                     parse_metrics("ndcg@10"), 3)
        .evaluate(s)
        .metrics.at("NDCG@10");
  }
  Dataset data_;
  Split split_;
};

TEST_F(SeqTraining, MarkovSequencesAreLearnedBetterThanPopularityAndMf) {
  torch::manual_seed(3);
  auto model =
      create_seq_model(ModelSpec::parse("sasrec:max_len=20,hidden=32,loss=ce"), data_.num_items());
  SeqTrainer trainer(data_, split_, model, config(25));
  const auto r = trainer.fit("");
  const double pop = ndcg(PopularityScorer(split_.train, data_.num_items()));
  TrainConfig mc;
  mc.epochs = 10;
  mc.lr = 0.005;
  mc.show_progress = false;
  mc.protocol = "sampled:uniform:100";
  mc.metrics = "ndcg@10";
  torch::manual_seed(3);
  auto mf = create_topn_model(ModelSpec::parse("mf:dim=32"), data_.num_users(), data_.num_items());
  const double mf_ndcg = Trainer(data_, split_, mf, mc).fit("").test.metrics.at("NDCG@10");
  const double seq = r.test.metrics.at("NDCG@10");
  // The next item follows the previous one (markov = 0.7): order matters, and only SASRec sees it.
  EXPECT_GT(seq, 1.3 * pop) << "sasrec " << seq << " popularity " << pop;
  EXPECT_GT(seq, 1.2 * mf_ndcg) << "sasrec " << seq << " mf " << mf_ndcg;
}

TEST_F(SeqTraining, CheckpointsAndDistillationChecks) {
  const auto dir = testing::scratch_dir("seq-ckpt");
  torch::manual_seed(3);
  auto teacher =
      create_seq_model(ModelSpec::parse("sasrec:max_len=10,hidden=16,loss=ce"), data_.num_items());
  SeqTrainer(data_, split_, teacher, config(2)).fit(dir);
  auto loaded = load_seq_checkpoint(dir + "/best.pt", &data_);
  EXPECT_EQ(loaded->spec().to_string(), teacher->spec().to_string());
  const Dataset other = generate_synthetic(SyntheticConfig::parse("synthetic:users=50,items=40"));
  expect_error([&] { load_seq_checkpoint(dir + "/best.pt", &other); }, {"not on this data"});

  auto bert = create_seq_model(ModelSpec::parse("bert4rec:max_len=10,hidden=8"), data_.num_items());
  SeqTrainer bad(data_, split_, bert, config(1));
  expect_error(
      [&] {
        bad.distill_from({teacher, parse_seq_distillation_terms({"kd"})});
      },
      {"sasrec teacher", "bert4rec student"});
  expect_error([] { parse_seq_distillation_terms({"derrd"}); },
               {"unknown next-item distillation method"});
  auto three =
      create_seq_model(ModelSpec::parse("sasrec:max_len=10,hidden=9,heads=3"), data_.num_items());
  auto attention = create_seq_distiller(ModelSpec::parse("attention"));
  expect_error([&] { attention->prepare(*teacher, *three); }, {"cannot be grouped"});
  auto hint = create_seq_distiller(ModelSpec::parse("hint:layers=1>3"));
  expect_error([&] { hint->prepare(*teacher, *three); }, {"teacher layer '3' does not exist"});
}

TEST_F(SeqTraining, DistillationTermsVanishForAnIdenticalStudent) {
  auto teacher = make("sasrec:max_len=5,hidden=4,layers=2,heads=2,dropout=0,loss=ce");
  auto student = make("sasrec:max_len=5,hidden=4,layers=2,heads=2,dropout=0,loss=ce");  // same seed
  teacher->eval();
  student->eval();
  Rng rng(1);
  const auto batch = student->training_input(sequences(), rng);
  const auto t = teacher->encode(batch.input), s = student->encode(batch.input);
  const SeqDistillBatch db{&batch, &t, &s};
  for (const char* m : {"kd", "kd:temperature=3", "attention", "attention:loss=mse"}) {
    auto d = create_seq_distiller(ModelSpec::parse(m));
    d->prepare(*teacher, *student);
    EXPECT_NEAR(d->loss(*teacher, *student, db).item<double>(), 0.0, 1e-6) << m;
  }
  // A different student: positive losses whose gradients reach it.
  auto other = make("sasrec:max_len=5,hidden=2,layers=1,heads=1,dropout=0,loss=ce");
  const auto o = other->encode(batch.input);
  const SeqDistillBatch ob{&batch, &t, &o};
  for (const char* m : {"kd", "attention", "hint", "contrastive"}) {
    other->zero_grad();
    auto d = create_seq_distiller(ModelSpec::parse(m));
    d->prepare(*teacher, *other);
    const auto loss = d->loss(*teacher, *other, ob);
    EXPECT_GT(loss.item<double>(), 1e-6) << m;
    loss.backward({}, /*retain_graph=*/true);
    EXPECT_GT(other->named_parameters()["items.weight"].grad().abs().sum().item<double>(), 0) << m;
  }
  // kd by hand on one position: teacher logits z_t, student z_s at T = 1: KL(softmax z_t || softmax
  // z_s).
  const auto where = batch.targets.gt(0);
  const auto zt = teacher->item_logits(t.hidden.index({where})),
             zs = other->item_logits(o.hidden.index({where}));
  const auto p = torch::softmax(zt, -1), logq = torch::log_softmax(zs, -1);
  const double expected = (p * (torch::log(p) - logq)).sum(-1).mean().item<double>();
  EXPECT_NEAR(
      create_seq_distiller(ModelSpec::parse("kd"))->loss(*teacher, *other, ob).item<double>(),
      expected, 1e-6);
  // contrastive (OD-Rec's InfoNCE) by hand: a student of the teacher's width (no projection),
  // its weights moved away from the teacher's; sequence i's representation is its last position.
  auto moved = make("sasrec:max_len=5,hidden=4,layers=2,heads=2,dropout=0,loss=ce");
  {
    torch::NoGradGuard g;
    for (auto& w : moved->parameters()) w.mul_(0.6).add_(0.07);
  }
  moved->eval();
  const auto v = moved->encode(batch.input);
  const SeqDistillBatch vb{&batch, &t, &v};
  const double tau = 0.5;
  const auto last = t.hidden.size(1) - 1;
  const auto sl = v.hidden.select(1, last).to(torch::kDouble),
             tl = t.hidden.select(1, last).to(torch::kDouble);
  const auto rows = sl.size(0);
  double by_hand = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    double denominator = 0, positive = 0;
    for (std::int64_t j = 0; j < rows; ++j) {
      const double cosine = (sl[i] * tl[j]).sum().item<double>() /
                            (sl[i].norm().item<double>() * tl[j].norm().item<double>());
      denominator += std::exp(cosine / tau);
      if (i == j) positive = cosine / tau;
    }
    by_hand += (std::log(denominator) - positive) / static_cast<double>(rows);
  }
  auto cl = create_seq_distiller(ModelSpec::parse("contrastive:temperature=0.5"));
  cl->prepare(*teacher, *moved);
  EXPECT_TRUE(cl->parameters().empty());  // equal widths: no projection
  EXPECT_NEAR(cl->loss(*teacher, *moved, vb).item<double>(), by_hand, 1e-5);
  EXPECT_GT(by_hand, 0.01);
  auto projected = create_seq_distiller(ModelSpec::parse("contrastive"));
  projected->prepare(*teacher, *other);
  EXPECT_EQ(projected->parameters().size(), 2u);  // the 2 -> 4 projection's weight and bias
}

// The shared training loop (train/loop.h) on next-item models: a run resumed from last.pt ends
// exactly where an uninterrupted one does, with SASRec's dropout and BERT4Rec's masks.
TEST_F(SeqTraining, SasRecAndBert4RecResumeExactly) {
  for (const std::string spec : {"sasrec:max_len=10,hidden=16,loss=ce,dropout=0.2",
                                 "bert4rec:max_len=10,hidden=16,dropout=0.2"}) {
    const auto dir_a = testing::scratch_dir("seq_loop_a"),
               dir_b = testing::scratch_dir("seq_loop_b");
    const auto full = resumable_run(spec, config(4), dir_a);
    resumable_run(spec, config(2), dir_b);
    const auto resumed = resumable_run(spec, config(4), dir_b, dir_b + "/last.pt");
    ASSERT_EQ(resumed.history.size(), 4u) << spec;
    EXPECT_EQ(resumed.history[3]["loss"], full.history[3]["loss"]) << spec;
    EXPECT_EQ(resumed.test.metrics, full.test.metrics) << spec;
    EXPECT_EQ(resumed.best_epoch, full.best_epoch) << spec;
  }
}

TEST_F(SeqTraining, DivergenceStopsAndResumeChecksTheModel) {
  auto wild = config(2);
  wild.lr = 1e9;
  EXPECT_THROW(resumable_run("sasrec:max_len=10,hidden=8,loss=ce", wild, ""), TrainingDiverged);
  const auto dir = testing::scratch_dir("seq_loop_model");
  resumable_run("sasrec:max_len=10,hidden=8,loss=ce", config(1), dir);
  expect_error(
      [&] {
        resumable_run("sasrec:max_len=10,hidden=16,loss=ce", config(2), dir, dir + "/last.pt");
      },
      {"model", "resume only the run it came from"});
}

// ---------------------------------------------------------------- AdaRec's searchable student

const std::string kAdaRecDerived =
    "adarec:max_len=6,hidden=4,layers=2,nodes=2,dropout=0,ops=c5-d5-max3/avg3-skip-d3";
const std::string kAdaRecSearch =
    "adarec:max_len=6,hidden=4,layers=2,nodes=2,dropout=0,gumbel=soft,cost=0.5";
const std::string kAdaRecSearchHard = "adarec:max_len=6,hidden=4,layers=2,nodes=2,dropout=0";

TEST(AdaRec, GradientsMatchFiniteDifferencesDerivedAndSearching) {
  {  // derived: the model's own loss through every op kind
    auto m = make(kAdaRecDerived);
    m->to(torch::kDouble);
    m->eval();
    Rng rng(3);
    const auto batch = m->training_input(sequences(), rng);
    auto loss_of = [&] { return m->loss(m->encode(batch.input), batch); };
    EXPECT_GT(testing::expect_gradients_match(*m, loss_of, kAdaRecDerived, 4), 20);
  }
  {  // searching, relaxed (soft) Gumbel weights with fixed noise: the architecture weights'
     // gradient too, through the mixture and the expected cost
    auto m = make(kAdaRecSearch);
    m->to(torch::kDouble);
    m->train();  // the mixture runs in training; dropout is 0
    Rng rng(3);
    const auto batch = m->training_input(sequences(), rng);
    auto loss_of = [&] {
      torch::manual_seed(11);  // the same Gumbel noise for every evaluation
      return m->loss(m->encode(batch.input), batch);
    };
    m->zero_grad();
    loss_of().backward();
    EXPECT_GT(m->named_parameters()["arch"].grad().abs().sum().item<double>(), 0);
    EXPECT_GT(testing::expect_gradients_match(*m, loss_of, kAdaRecSearch, 4), 20);
  }
}

TEST(AdaRec, EveryOpIsCausalAndPaddingIsInvisible) {
  // Changing the items from position 3 on never changes positions 0-2, for the derived ops and
  // for the search's mixture (same noise).
  for (const auto& spec : {kAdaRecDerived, kAdaRecSearchHard}) {
    auto m = make(spec);
    if (spec == kAdaRecSearchHard)
      m->train();
    else
      m->eval();
    torch::NoGradGuard g;
    torch::manual_seed(1);
    const auto a = m->encode(torch::tensor({{1, 2, 3, 4, 5, 6}}, torch::kLong)).hidden;
    torch::manual_seed(1);
    const auto b = m->encode(torch::tensor({{1, 2, 3, 7, 6, 2}}, torch::kLong)).hidden;
    EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 3), b.narrow(1, 0, 3))) << spec;
    EXPECT_FALSE(torch::allclose(a.narrow(1, 3, 1), b.narrow(1, 3, 1))) << spec;
  }
  auto m = make(kAdaRecDerived);
  m->eval();
  torch::NoGradGuard g;
  const auto input = right_aligned_tokens({{3, 2, 1}}, 6);  // [0, 0, 0, 4, 3, 2]
  const auto before = m->encode(input).hidden.narrow(1, 3, 3).clone();
  m->named_parameters()["items.weight"][0].fill_(5.0);
  EXPECT_TRUE(torch::allclose(before, m->encode(input).hidden.narrow(1, 3, 3), 1e-5, 1e-6));
}

TEST(AdaRec, DerivesTheArgmaxArchitectureAndCostsItsOps) {
  auto m = create_seq_model(ModelSpec::parse(kAdaRecSearch), 7);
  auto* ada = dynamic_cast<AdaRecImpl*>(m.get());
  ASSERT_NE(ada, nullptr);
  ASSERT_TRUE(ada->searching());
  ASSERT_EQ(ada->arch.sizes(), (std::vector<std::int64_t>{6, 8}));  // 2 cells x 3 edges, 8 ops
  {
    torch::NoGradGuard g;
    ada->arch.zero_();
    // Uniform: the mean of the costs. hidden 4: a 5-tap conv has 5*16 + 4 = 84 parameters;
    // c3 52, c5 84, d3 52, d5 84, max3 / avg3 3*4 = 12 each (no weights), skip / zero 0.
    EXPECT_NEAR(ada->expected_cost().item<double>(), (52 + 84 + 52 + 84 + 12 + 12) / 84.0 / 8,
                1e-6);
    const std::vector<CellOp> wanted = {CellOp::kConv3,    CellOp::kSkip, CellOp::kDilConv5,
                                        CellOp::kMaxPool3, CellOp::kZero, CellOp::kAvgPool3};
    for (std::size_t e = 0; e < wanted.size(); ++e)
      ada->arch[static_cast<std::int64_t>(e)][static_cast<std::int64_t>(wanted[e])] = 3.0;
  }
  const std::string derived = ada->derived_spec();
  EXPECT_NE(derived.find("ops=c3-skip-d5/max3-zero-avg3"), std::string::npos) << derived;
  for (const char* search_only : {"cost=", "gumbel=", "tau="})
    EXPECT_EQ(derived.find(search_only), std::string::npos) << derived;
  auto d = create_seq_model(ModelSpec::parse(derived), 7);
  auto* dada = dynamic_cast<AdaRecImpl*>(d.get());
  ASSERT_FALSE(dada->searching());
  EXPECT_EQ(cell_ops_text(dada->architecture()), "c3-skip-d5/max3-zero-avg3");
  EXPECT_EQ(dada->expected_cost().item<double>(), 0.0);
  // The derived model's parameters are the supernet's of the chosen ops, by name.
  const auto super = m->named_parameters();
  std::int64_t conv_parameters = 0;
  for (const auto& p : d->named_parameters()) {
    ASSERT_TRUE(super.contains(p.key())) << p.key();
    if (p.key().find("_c") != std::string::npos || p.key().find("_d") != std::string::npos)
      conv_parameters += p.value().numel();
  }
  EXPECT_EQ(conv_parameters, (3 * 16 + 4) + (5 * 16 + 4));
  // The evaluation of a searching model runs its argmax architecture: the derived model with
  // the same weights scores the same.
  {
    torch::NoGradGuard g;
    for (auto& p : d->named_parameters()) p.value().copy_(super[p.key()]);
  }
  m->eval();
  d->eval();
  const auto h = right_aligned_tokens({{1, 2, 3}, {4}}, 6);
  EXPECT_TRUE(torch::allclose(m->score_all_next(h), d->score_all_next(h)));
  // The temperature anneals x0.8 every 5 epochs.
  ada->start_epoch(1);
  EXPECT_DOUBLE_EQ(ada->temperature(), 1.0);
  ada->start_epoch(5);
  EXPECT_DOUBLE_EQ(ada->temperature(), 1.0);
  ada->start_epoch(6);
  EXPECT_DOUBLE_EQ(ada->temperature(), 0.8);
  ada->start_epoch(11);
  EXPECT_NEAR(ada->temperature(), 0.64, 1e-12);
}

TEST(AdaRec, BadSpecs) {
  expect_error([] { create_seq_model(ModelSpec::parse("adarec:layers=2,ops=c3-c3-c3"), 5); },
               {"names 1 cells", "layers=2"});
  expect_error([] { create_seq_model(ModelSpec::parse("adarec:layers=1,ops=c3-c3"), 5); },
               {"names 2 edges", "has 3"});
  expect_error([] { create_seq_model(ModelSpec::parse("adarec:layers=1,ops=c3-c7-skip"), 5); },
               {"unknown op 'c7'", "d5"});
  expect_error([] { create_seq_model(ModelSpec::parse("adarec:heads=2"), 5); }, {"heads"});
  expect_error([] { create_seq_model(ModelSpec::parse("adarec:gumbel=warm"), 5); },
               {"hard or soft"});
}

// AdaRec's distillation term: with only the EMD part and identity projections, the hand-worked
// flows (diagonal when layers match pairwise; half to each teacher layer when both student
// layers equal one of them), and its pieces by hand otherwise.
TEST(AdaRec, DistillationTermByHand) {
  auto teacher = make("sasrec:max_len=5,hidden=4,layers=2,heads=2,dropout=0,loss=ce");
  auto student = make("adarec:max_len=5,hidden=4,layers=2,dropout=0,ops=c3-skip-avg3/c5-d3-max3");
  teacher->eval();
  student->eval();
  Rng rng(1);
  const auto batch = student->training_input(sequences(), rng);
  const auto t = teacher->encode(batch.input);
  auto emd = create_seq_distiller(ModelSpec::parse("adarec:emb=0,kl=0"));
  emd->prepare(*teacher, *student);
  const auto params = emd->parameters();  // embedding projection w, b; layer projection w, b
  ASSERT_EQ(params.size(), 4u);
  {
    torch::NoGradGuard g;
    params[2].copy_(torch::eye(4));
    params[3].zero_();
  }
  const auto real = batch.input.ne(0);
  const auto mse = [&](const torch::Tensor& a, const torch::Tensor& b) {
    return (a.index({real}) - b.index({real})).pow(2).mean().item<double>();
  };
  SeqOutput same;  // student layers = teacher layers: every pair on the diagonal costs 0
  same.layers = t.layers;
  same.hidden = t.hidden;
  const SeqDistillBatch sb{&batch, &t, &same};
  EXPECT_NEAR(emd->loss(*teacher, *student, sb).item<double>(), 0.0, 1e-7);
  SeqOutput first;  // both student layers = teacher layer 1: half of the mass must reach layer 2
  first.layers = {t.layers[0], t.layers[0]};
  first.hidden = t.hidden;
  const SeqDistillBatch fb{&batch, &t, &first};
  const double d12 = mse(t.layers[0], t.layers[1]);
  EXPECT_GT(d12, 1e-3);
  EXPECT_NEAR(emd->loss(*teacher, *student, fb).item<double>(), 0.5 * d12, 1e-6);
  // The whole term: emb (projection set to the identity) + emd + kl, each as its definition.
  auto all = create_seq_distiller(ModelSpec::parse("adarec:emb=2,emd=1,kl=0.5,temperature=2"));
  all->prepare(*teacher, *student);
  const auto p = all->parameters();
  {
    torch::NoGradGuard g;
    p[0].copy_(torch::eye(4));
    p[1].zero_();
    p[2].copy_(torch::eye(4));
    p[3].zero_();
  }
  const auto s = student->encode(batch.input);
  const SeqDistillBatch ab{&batch, &t, &s};
  const auto tokens = batch.input.index({real});
  const double emb =
      (student->embed_tokens(tokens) - teacher->embed_tokens(tokens)).pow(2).mean().item<double>();
  std::vector<double> cost;
  for (const auto& sl : s.layers)
    for (const auto& tl : t.layers) cost.push_back(mse(sl, tl));
  const auto flow = emd_flow(cost, {0.5, 0.5}, {0.5, 0.5});
  double layer = 0;
  for (std::size_t k = 0; k < 4; ++k) layer += flow[k] * cost[k];
  const auto where = batch.targets.gt(0);
  const auto zt = teacher->item_logits(t.hidden.index({where})) / 2,
             zs = student->item_logits(s.hidden.index({where})) / 2;
  const auto pt = torch::softmax(zt, -1);
  const double kl =
      4 * (pt * (torch::log(pt) - torch::log_softmax(zs, -1))).sum(-1).mean().item<double>();
  EXPECT_NEAR(all->loss(*teacher, *student, ab).item<double>(), 2 * emb + layer + 0.5 * kl, 1e-5);
}

}  // namespace
}  // namespace recpress
