#include "distill/common/emd.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/errors.h"

namespace recpress {

namespace {

struct Arc {
  std::size_t to;
  double capacity, cost;
  std::size_t reverse;  // index of the opposite arc in arcs[to]
};

void add_arc(std::vector<std::vector<Arc>>& arcs, std::size_t a, std::size_t b, double capacity,
             double cost) {
  arcs[a].push_back({b, capacity, cost, arcs[b].size()});
  arcs[b].push_back({a, 0, -cost, arcs[a].size() - 1});
}

double total_of(const std::vector<double>& w, const char* which) {
  double total = 0;
  for (const double x : w) {
    if (!(x >= 0) || !std::isfinite(x))
      throw Error(std::string("emd: a negative or non-finite weight in ") + which);
    total += x;
  }
  return total;
}

}  // namespace

std::vector<double> emd_flow(const std::vector<double>& cost, const std::vector<double>& from,
                             const std::vector<double>& to) {
  const std::size_t m = from.size(), n = to.size();
  if (m == 0 || n == 0 || cost.size() != m * n)
    throw Error("emd: a " + std::to_string(cost.size()) + "-entry cost for " + std::to_string(m) +
                " x " + std::to_string(n) + " weights");
  const double supply = total_of(from, "from"), demand = total_of(to, "to");
  if (std::abs(supply - demand) > 1e-9 * std::max(1.0, supply))
    throw Error("emd: the weights sum to " + std::to_string(supply) + " and " +
                std::to_string(demand));
  // Nodes: source 0, rows 1..m, columns m+1..m+n, sink m+n+1.
  const std::size_t source = 0, sink = m + n + 1, nodes = m + n + 2;
  std::vector<std::vector<Arc>> arcs(nodes);
  for (std::size_t i = 0; i < m; ++i) add_arc(arcs, source, 1 + i, from[i], 0);
  for (std::size_t j = 0; j < n; ++j) add_arc(arcs, 1 + m + j, sink, to[j], 0);
  const double inf = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) add_arc(arcs, 1 + i, 1 + m + j, inf, cost[i * n + j]);
  const double eps = 1e-12 * std::max(1.0, supply);
  double left = supply;
  // Each augmentation saturates the path's bottleneck arc; a few dozen suffice for layers.
  for (std::size_t round = 0; left > eps && round < 4 * nodes * nodes; ++round) {
    // Bellman-Ford: residual arcs may have negative costs.
    std::vector<double> dist(nodes, inf);
    std::vector<std::pair<std::size_t, std::size_t>> via(nodes, {nodes, 0});
    dist[source] = 0;
    for (std::size_t pass = 0; pass + 1 < nodes; ++pass) {
      bool changed = false;
      for (std::size_t a = 0; a < nodes; ++a) {
        if (dist[a] == inf) continue;
        for (std::size_t k = 0; k < arcs[a].size(); ++k) {
          const Arc& arc = arcs[a][k];
          if (arc.capacity > eps && dist[a] + arc.cost < dist[arc.to] - 1e-15) {
            dist[arc.to] = dist[a] + arc.cost;
            via[arc.to] = {a, k};
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    if (dist[sink] == inf) break;
    double push = left;
    for (std::size_t v = sink; v != source; v = via[v].first)
      push = std::min(push, arcs[via[v].first][via[v].second].capacity);
    for (std::size_t v = sink; v != source; v = via[v].first) {
      Arc& arc = arcs[via[v].first][via[v].second];
      arc.capacity -= push;
      arcs[arc.to][arc.reverse].capacity += push;
    }
    left -= push;
  }
  std::vector<double> flow(m * n, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (const Arc& arc : arcs[1 + i])
      if (arc.to > m && arc.to <= m + n)
        flow[i * n + (arc.to - 1 - m)] = arcs[arc.to][arc.reverse].capacity;
  return flow;
}

}  // namespace recpress
