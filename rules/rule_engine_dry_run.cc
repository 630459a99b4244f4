// RuleEngine::DryRun: a rule evaluated over what the store holds now, with a fresh
// AlertRule (id 0) and no catalog writes.
#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <variant>

#include "rules/internal/series_groups.h"
#include "rules/rule_engine.h"
#include "rules/window_query.h"

namespace tidewatch::rules {
namespace {

// floor((ts - offset) / interval) * interval + offset, as InfluxDB aligns buckets.
Timestamp BucketStart(Timestamp ts, std::int64_t interval, std::int64_t offset) {
  const Timestamp shifted = ts - offset;
  Timestamp q = shifted / interval;
  if (shifted % interval < 0) --q;
  return q * interval + offset;
}

// The rows of `result` split by their time (first column), in time order.
std::map<Timestamp, StatementResult> SplitByTime(const StatementResult& result) {
  std::map<Timestamp, StatementResult> out;
  for (const ResultSeries& series : result.series) {
    for (const std::vector<Value>& row : series.values) {
      if (row.empty() || !std::holds_alternative<TimeValue>(row.front())) continue;
      StatementResult& part = out[std::get<TimeValue>(row.front()).ns];
      if (part.series.empty() || part.series.back().tags != series.tags ||
          part.series.back().name != series.name) {
        part.series.push_back(ResultSeries{series.name, series.tags, series.columns, {}, false});
      }
      part.series.back().values.push_back(row);
    }
  }
  return out;
}

std::vector<DryRunAlert> PendingOrFiring(const AlertRule& rule) {
  std::vector<DryRunAlert> out;
  for (AlertView& view : rule.Views()) {
    if (view.state != "pending" && view.state != "firing") continue;
    DryRunAlert alert;
    alert.instance_key = std::move(view.instance_key);
    alert.labels = std::move(view.labels);
    alert.annotations = std::move(view.annotations);
    alert.state = std::move(view.state);
    alert.severity = view.severity;
    alert.severity_name = std::move(view.severity_name);
    alert.value = view.value.value_or(std::numeric_limits<double>::quiet_NaN());
    alert.event_time = view.last_event_time;
    out.push_back(std::move(alert));
  }
  std::sort(out.begin(), out.end(), [](const DryRunAlert& a, const DryRunAlert& b) {
    return a.instance_key < b.instance_key;
  });
  return out;
}

}  // namespace

StatusOr<std::vector<DryRunAlert>> RuleEngine::DryRun(const RuleDefinition& definition) const {
  StatusOr<std::unique_ptr<AlertRule>> rule = AlertRule::Create(0, definition);
  if (!rule.ok()) return rule.status();
  return (*rule)->aggregate() ? DryRunAggregate(**rule) : DryRunRaw(**rule);
}

StatusOr<std::vector<DryRunAlert>> RuleEngine::DryRunRaw(AlertRule& rule) const {
  const RuleDefinition& definition = rule.definition();
  std::vector<std::string> measurements = {rule.query().measurement};
  if (definition.suppress_when) {
    StatusOr<RuleQuery> suppression = CompileRuleQuery(definition.suppress_when->query, false);
    if (!suppression.ok()) return suppression.status();
    measurements.push_back(suppression->measurement);
  }
  struct Input {
    store::SeriesId id = 0;
    AlertRule::SeriesRole role = AlertRule::SeriesRole::kNone;
    AlertInstance* instance = nullptr;
  };
  struct Sample {
    Timestamp ts;
    std::size_t input;
    double value;
  };
  std::vector<Input> inputs;
  std::vector<Sample> samples;
  store::PostingList seen;
  for (const std::string& measurement : measurements) {
    for (const store::SeriesId id : store_.index().SeriesOf(definition.db, measurement)) {
      if (std::binary_search(seen.begin(), seen.end(), id)) continue;
      const std::optional<store::SeriesInfo> info = store_.index().Info(id);
      if (!info) continue;  // removed meanwhile
      Input input{id, rule.Match(*info), nullptr};
      if (input.role == AlertRule::SeriesRole::kNone) continue;
      if (input.role == AlertRule::SeriesRole::kData) {
        input.instance = rule.InstanceFor(*info, options_.max_instances_per_rule);
        if (input.instance == nullptr) continue;
      }
      const internal::SeriesPoints points =
          internal::ReadPoints(store_.windows(), id, std::numeric_limits<Timestamp>::min(),
                               std::numeric_limits<Timestamp>::max());
      for (std::size_t i = 0; i < points.ts.size(); ++i) {
        samples.push_back({points.ts[i], inputs.size(), points.values[i]});
      }
      inputs.push_back(input);
    }
    seen = store::Union(seen, store_.index().SeriesOf(definition.db, measurement));
  }
  // One timeline across series, so suppression and data interleave as they happened.
  std::stable_sort(samples.begin(), samples.end(),
                   [](const Sample& a, const Sample& b) { return a.ts < b.ts; });
  AlertEvents events;
  for (const Sample& sample : samples) {
    const Input& input = inputs[sample.input];
    if (input.role == AlertRule::SeriesRole::kSuppression) {
      rule.OnSuppressionValue(input.id, sample.value, sample.ts, events);
    } else {
      rule.OnValue(*input.instance, sample.value, sample.ts, sample.ts, events);
    }
    events.clear();  // a dry run persists and notifies nothing
  }
  return PendingOrFiring(rule);
}

StatusOr<std::vector<DryRunAlert>> RuleEngine::DryRunAggregate(AlertRule& rule) const {
  const RuleDefinition& definition = rule.definition();
  const RuleQuery& query = rule.query();
  const Timestamp newest = store_.newest_ts(definition.db);
  if (newest == std::numeric_limits<Timestamp>::min()) return std::vector<DryRunAlert>{};
  const std::int64_t retention = store_.retention_ns(definition.db);
  const Timestamp oldest =
      newest > std::numeric_limits<Timestamp>::min() + retention ? newest - retention : newest;
  BucketRange range;
  range.start = BucketStart(oldest, query.interval_ns, query.offset_ns);
  range.end = BucketStart(newest, query.interval_ns, query.offset_ns) + query.interval_ns;
  const StatementResult result =
      RunSelectOver(executor_, query.select, definition.db, range, Now());
  if (result.error) {
    return Status(StatusCode::kInvalidArgument, "query: " + *result.error);
  }
  AlertEvents events;
  for (const auto& [bucket, part] : SplitByTime(result)) {
    // Each bucket at the processing time it would close at, so `for` delays elapse.
    rule.OnWindowResult(part, bucket + query.interval_ns, options_.max_instances_per_rule, events);
    events.clear();
  }
  return PendingOrFiring(rule);
}

}  // namespace tidewatch::rules
