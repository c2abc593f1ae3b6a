#pragma once

#include <QDateTime>

#include <atomic>

namespace kvdesk {

// The wall clock that TTLs are measured against; tests move it forward instead of sleeping.
class Clock final
{
public:
    qint64 nowMs() const
    {
        return QDateTime::currentMSecsSinceEpoch() + m_offsetMs.load(std::memory_order_relaxed);
    }
    void advance(qint64 ms) { m_offsetMs.fetch_add(ms, std::memory_order_relaxed); }

private:
    std::atomic<qint64> m_offsetMs{0};
};

} // namespace kvdesk
