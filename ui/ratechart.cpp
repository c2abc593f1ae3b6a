#include "ratechart.h"

#include <QDateTime>
#include <QPainter>
#include <QPainterPath>

namespace kvdesk {

RateChart::RateChart(QWidget *parent) : QWidget(parent), m_buckets(seconds)
{
    setObjectName(QStringLiteral("rateChart"));
    m_repaint.setInterval(1000);
    QObject::connect(&m_repaint, &QTimer::timeout, this, qOverload<>(&QWidget::update));
    m_repaint.start();
}

void RateChart::record(const QList<AccessLogEntry> &entries)
{
    for (const AccessLogEntry &e : entries) {
        const qint64 s = e.timeMs / 1000;
        Bucket &b = m_buckets[size_t(s % seconds)];
        if (b.second != s)
            b = Bucket{s, 0, 0};
        ++b.requests;
        if (e.status >= 400)
            ++b.errors;
    }
}

std::pair<int, int> RateChart::bucket(qint64 epochSecond) const
{
    const Bucket &b = m_buckets[size_t(epochSecond % seconds)];
    return b.second == epochSecond ? std::pair{b.requests, b.errors} : std::pair{0, 0};
}

void RateChart::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF area = QRectF(rect()).adjusted(4, 18, -4, -4);
    p.fillRect(rect(), palette().base());
    const qint64 now = QDateTime::currentMSecsSinceEpoch() / 1000;
    int peak = 1;
    qint64 total = 0;
    qint64 errors = 0;
    for (qint64 s = now - seconds + 1; s <= now; ++s) {
        const auto [r, e] = bucket(s);
        peak = std::max(peak, r);
        if (s >= now - 60) {
            total += r;
            errors += e;
        }
    }
    const double step = area.width() / seconds;
    for (qint64 s = now - seconds + 1; s <= now; ++s) {
        const auto [r, e] = bucket(s);
        if (r == 0)
            continue;
        const double x = area.left() + double(s - (now - seconds + 1)) * step;
        const double h = area.height() * r / peak;
        const double he = area.height() * e / peak;
        p.fillRect(QRectF(x, area.bottom() - h, std::max(step, 1.0), h - he), QColor(0x3b, 0x82, 0xc4));
        if (e > 0)
            p.fillRect(QRectF(x, area.bottom() - he, std::max(step, 1.0), he), QColor(0xd0, 0x40, 0x40));
    }
    p.setPen(palette().color(QPalette::Text));
    const QString caption = tr("last 5 min · peak %1 req/s · last minute: %2 req/s, %3% errors")
                                .arg(peak == 1 && total == 0 ? 0 : peak)
                                .arg(double(total) / 60.0, 0, 'f', 1)
                                .arg(total ? 100.0 * double(errors) / double(total) : 0.0, 0, 'f', 1);
    p.drawText(QRectF(rect()).adjusted(6, 2, -6, 0), Qt::AlignLeft | Qt::AlignTop, caption);
}

} // namespace kvdesk
