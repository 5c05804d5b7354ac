import PDFDocument from 'pdfkit';
import type { TemperatureLog } from './temperature-log.ts';

/**
 * The temperature log as a printable A4 PDF: header (scope, period, interval, units with their
 * setpoints), the readings table, excursions, corrective actions and a sign-off line. Built-in
 * Helvetica / Courier only, so no font file ships with Vigil.
 */

const MARGIN = 40;
const fmt = (v: number | null): string => (v === null ? '—' : v.toFixed(1));
const time = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '—');

export function temperatureLogPdf(log: TemperatureLog): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: MARGIN, info: { Title: log.title, Producer: 'Vigil' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const unit = new Map(log.units.map((u) => [u.id, u]));
  const name = (id: string): string => unit.get(id)?.name ?? id;

  const heading = (text: string) => {
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(12).text(text).moveDown(0.3);
    doc.font('Courier').fontSize(8);
  };
  const row = (cells: string[], widths: number[]) => {
    doc.text(cells.map((c, i) => c.slice(0, widths[i]! - 1).padEnd(widths[i]!)).join(''));
  };

  doc.font('Helvetica-Bold').fontSize(16).text(log.title);
  doc
    .font('Helvetica')
    .fontSize(9)
    .text(`Period: ${time(log.from)} to ${time(log.to)} UTC — interval ${log.interval}`)
    .text(`Generated ${time(new Date())} UTC by Vigil. Temperatures in °C.`);

  /** A titled table: a header row, then one row per item (or a line saying there are none). */
  const table = <T>(
    title: string,
    columns: [string, number][],
    items: T[],
    cells: (x: T) => string[],
    none?: string,
  ) => {
    heading(title);
    const widths = columns.map(([, w]) => w);
    row(
      columns.map(([label]) => label),
      widths,
    );
    if (items.length === 0 && none) doc.text(none);
    for (const x of items) row(cells(x), widths);
  };

  table(
    'Units',
    [
      ['unit', 30],
      ['site', 24],
      ['setpoint', 12],
    ],
    log.units,
    (u) => [u.name, u.site, fmt(u.setpoint)],
  );
  table(
    'Readings',
    [
      ['unit', 26],
      ['interval start', 18],
      ['n', 8],
      ['min', 9],
      ['avg', 9],
      ['max', 9],
    ],
    log.readings,
    (r) => [name(r.equipmentId), time(r.at), String(r.readings), fmt(r.min), fmt(r.avg), fmt(r.max)],
    'No readings in this period.',
  );
  table(
    'Excursions',
    [
      ['unit', 22],
      ['rule', 14],
      ['severity', 9],
      ['opened', 18],
      ['resolved', 18],
      ['value', 9],
    ],
    log.excursions,
    (e) => [name(e.equipmentId), e.rule, e.severity, time(e.openedAt), time(e.resolvedAt), fmt(e.value)],
    'No excursions in this period.',
  );

  heading('Corrective actions');
  if (log.actions.length === 0) doc.text('No corrective actions in this period.');
  for (const a of log.actions) {
    doc.text(`${time(a.at)}  ${name(a.equipmentId)}  ${a.kind}${a.by ? ` by ${a.by}` : ''}`);
    if (a.note) doc.text(`    ${a.note}`);
  }

  doc
    .moveDown(2)
    .font('Helvetica')
    .fontSize(10)
    .text('Reviewed by: ______________________   Date: ____________');
  doc.end();
  return done;
}
