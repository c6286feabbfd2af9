package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// File names of the plots (beside report.json and weights.json).
const (
	ConvergenceFile = "convergence.svg"
	FiltersFile     = "filters.svg"
	SpectrumFile    = "spectrum.svg"
)

// MaxPanels caps the panels of one figure; the title says when filters were left out.
const MaxPanels = 32

// Colours: each data series has its own colour, so a reader (or a test) can tell the
// curves apart in the SVG.
var (
	ColorObjective = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	ColorGap       = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	ColorCertified = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff} // green
	ColorFilter    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue: one 1-D filter (channel 0)
	ColorSpectrum  = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff} // purple: |F u| of one unit
	ColorTotal     = color.RGBA{R: 0xe6, G: 0x55, B: 0x0d, A: 0xff} // dark orange: |F G| of the whole network
	// channel colours of 1-D filters with several input channels (channel 0 is ColorFilter)
	channelColors = []color.Color{ColorFilter, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}}
)

// pngOut makes svgBytes render PNG instead (for looking at the figures in tests:
// CNNC_PLOT_PNG).
var pngOut bool

// svgBytes renders plots (row-major, nil entries leave a tile empty) into one SVG of
// cols columns of panels, each pw × ph, under a title line.
func svgBytes(title string, plots []*plot.Plot, cols int, pw, ph vg.Length) ([]byte, error) {
	if cols < 1 {
		cols = 1
	}
	rows := (len(plots) + cols - 1) / cols
	if rows < 1 {
		rows = 1
	}
	titleH := vg.Points(24)
	W, H := vg.Length(cols)*pw, vg.Length(rows)*ph+titleH
	// The title fits: a line of 11-point text is about 0.5 em per character.
	if tw := vg.Points(11 * 0.52 * float64(len([]rune(title)))); W < tw+vg.Points(20) {
		W = tw + vg.Points(20)
	}
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if pngOut {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(W, H), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))}
	} else {
		c = vgsvg.New(W, H)
	}
	dc := draw.New(c)
	sty := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, 11), XAlign: draw.XCenter, YAlign: draw.YTop,
		Handler: plot.DefaultTextHandler}
	dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - vg.Points(6)}, title)
	body := draw.Crop(dc, 0, 0, 0, -titleH)
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for k := range cols {
			if i := r*cols + k; i < len(plots) {
				grid[r][k] = plots[i]
			}
		}
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canv := plot.Align(grid, tiles, body)
	for r := range grid {
		for k := range grid[r] {
			if grid[r][k] != nil {
				grid[r][k].Draw(canv[r][k])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gridCols is the number of columns of a near-square grid of n panels (at most 8).
func gridCols(n int) int {
	c := int(math.Ceil(math.Sqrt(float64(n))))
	return max(1, min(c, 8))
}

// line returns a solid line through pts in col.
func line(pts plotter.XYs, col color.Color, width float64) (*plotter.Line, *plotter.Scatter, error) {
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, nil, err
	}
	l.Color, l.Width = col, vg.Points(width)
	s.Color, s.Shape, s.Radius = col, draw.CircleGlyph{}, vg.Points(1.6)
	return l, s, nil
}

func small(p *plot.Plot) {
	p.Title.TextStyle.Font.Size = 9
	p.X.Tick.Label.Font.Size = 7
	p.Y.Tick.Label.Font.Size = 7
	p.X.Label.TextStyle.Font.Size = 8
	p.Y.Label.TextStyle.Font.Size = 8
}

func sci(v float64) string { return fmt.Sprintf("%.3g", v) }
