#pragma once

#include "http/accesslog.h"

#include <QTimer>
#include <QWidget>

#include <vector>

namespace kvdesk {

// Requests per second and the share of errors (4xx and 5xx) over the last minutes, one bar per
// second, drawn by hand (no charting dependency).
class RateChart final : public QWidget
{
    Q_OBJECT

public:
    static constexpr int seconds = 300;

    explicit RateChart(QWidget *parent = nullptr);

    void record(const QList<AccessLogEntry> &entries);
    // Requests and errors in the second that began at epoch second s (for tests).
    std::pair<int, int> bucket(qint64 epochSecond) const;
    QSize sizeHint() const override { return {480, 120}; }
    QSize minimumSizeHint() const override { return {200, 80}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    struct Bucket
    {
        qint64 second = -1;
        int requests = 0;
        int errors = 0;
    };
    std::vector<Bucket> m_buckets; // a ring indexed by epoch second
    QTimer m_repaint;
};

} // namespace kvdesk
