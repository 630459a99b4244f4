#include "ingest/internal/partition_pipeline.h"

#include <utility>

namespace tidewatch::ingest::internal {

namespace {

std::optional<std::string_view> KeyOf(const rd_kafka_message_t& m) {
  if (m.key == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(m.key), m.key_len);
}

std::optional<std::string_view> ValueOf(const rd_kafka_message_t& m) {
  if (m.payload == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(m.payload), m.len);
}

std::optional<std::string_view> View(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}

}  // namespace

void PendingMessage::Reset() {
  offset = 0;
  points.clear();
  next = 0;
  record_begun = kNoRecord;
  ticket.reset();
  dead_letter_owed = false;
  error.clear();
  copied = false;
  key.reset();
  value.reset();
}

PartitionPipeline::PartitionPipeline(std::string topic, std::int32_t partition,
                                     store::FieldRings& rings, TicketTable& tickets,
                                     DeadLetterProducer* dead_letters, SourceCounters& counters)
    : topic_(std::move(topic)),
      partition_(partition),
      tickets_(tickets),
      dead_letters_(dead_letters),
      counters_(counters),
      writer_(rings) {}

bool PartitionPipeline::Submit(PendingMessage& message, const rd_kafka_message_t& live) {
  if (queue_.empty() && Drive(message, &live)) return true;
  if (message.dead_letter_owed) CopyPayload(message, live);
  queue_.push_back(std::move(message));
  message.Reset();
  return false;
}

bool PartitionPipeline::Retry() {
  while (!queue_.empty() && Drive(queue_.front(), nullptr)) queue_.pop_front();
  return queue_.empty();
}

bool PartitionPipeline::Drive(PendingMessage& m, const rd_kafka_message_t* live) {
  if (!m.ticket) {
    const std::optional<Ticket> ticket = tickets_.Take(m.ticket_points());
    if (!ticket) return false;
    m.ticket = ticket;
    progress_.Add(m.offset, *ticket);
  }
  if (m.dead_letter_owed) {
    const DeadLetter letter{topic_,
                            partition_,
                            m.offset,
                            live != nullptr ? KeyOf(*live) : View(m.key),
                            live != nullptr ? ValueOf(*live) : View(m.value),
                            m.error};
    const Status sent = dead_letters_->Send(letter, *m.ticket);
    if (sent.code() == StatusCode::kUnavailable) return false;
    m.dead_letter_owed = false;
    // Refused for good (counted and logged by the producer): the partition moves on, so
    // the delivery share of the ticket completes here instead of in the report.
    if (!sent.ok()) tickets_.Complete(*m.ticket, 1);
  }
  const std::size_t first = m.next;
  bool done = true;
  while (m.next < m.points.size()) {
    const StagedPoint& p = m.points[m.next];
    if (p.record_values != 0 && m.record_begun != m.next) {
      writer_.BeginRecord(p.ts, p.record_values, *m.ticket);
      m.record_begun = m.next;
    }
    if (!writer_.Push(p.field, p.series, p.value)) {
      done = false;
      break;
    }
    ++m.next;
  }
  SourceCounters::Add(counters_.points, m.next - first);
  return done;
}

void PartitionPipeline::CopyPayload(PendingMessage& message, const rd_kafka_message_t& live) {
  if (message.copied) return;
  if (const auto key = KeyOf(live)) message.key.emplace(*key);
  if (const auto value = ValueOf(live)) message.value.emplace(*value);
  message.copied = true;
}

PartitionProgress PartitionPipeline::Abandon() {
  for (PendingMessage& m : queue_) {
    const std::size_t unpushed = m.points.size() - m.next;
    SourceCounters::Add(counters_.points_abandoned, unpushed);
    if (!m.ticket) continue;  // never in the progress: nothing to settle
    const auto share = static_cast<std::uint32_t>(unpushed) + (m.dead_letter_owed ? 1u : 0u);
    if (share > 0) tickets_.Complete(*m.ticket, share);
  }
  queue_.clear();
  return std::exchange(progress_, PartitionProgress());
}

}  // namespace tidewatch::ingest::internal
