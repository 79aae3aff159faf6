using System.Globalization;
using System.Text;

namespace Stratus.Testing;

/// <summary>A published third-party model of models/third-party.tsv and realistic v2 JSON requests for it.</summary>
internal sealed record ThirdPartyModel(string Name, string FileName, string Description, IReadOnlyList<string> Requests)
{
    /// <summary>The restored file (tools/fetch-models.sh, which the test build runs when a file is missing).</summary>
    public string Path => RepositoryFiles.Find($"models/third-party/{FileName}");

    public override string ToString() => Name;
}

/// <summary>
/// The third-party models the tests serve, each with deterministic requests shaped like what their own pipelines
/// feed them: synthesized voiced speech for the audio models, rendered text for the OCR models.
/// </summary>
internal static class ThirdPartyModels
{
    /// <summary>Samples per Silero chunk at 16 kHz (256 at 8 kHz).</summary>
    public const int SileroChunk = 512;

    /// <summary>Samples openWakeWord feeds the melspectrogram model per 80 ms step at 16 kHz.</summary>
    public const int WakeWordStep = 1280;

    /// <summary>Mel frames in one embedding window, and bins per frame.</summary>
    public const int EmbeddingFrames = 76, MelBins = 32;

    // Where the synthesized utterance is well under way (past the onset, mid-syllable).
    private const int Voiced = 4096;

    // 5x7 bitmaps, one row per byte, most significant of the five bits on the left. Before the models: static
    // initializers run in order, and the OCR requests are drawn with these.
    private static readonly Dictionary<char, byte[]> Glyphs = new()
    {
        [' '] = [0, 0, 0, 0, 0, 0, 0],
        ['2'] = [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        ['A'] = [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        ['C'] = [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        ['E'] = [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        ['N'] = [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
        ['O'] = [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        ['R'] = [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        ['S'] = [0b01110, 0b10001, 0b10000, 0b01110, 0b00001, 0b10001, 0b01110],
        ['T'] = [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        ['U'] = [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        ['V'] = [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
        ['X'] = [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
    };

    public static ThirdPartyModel SileroVadV5 { get; } = new(
        "silero-vad-v5",
        "silero-vad-v5.onnx",
        "Silero VAD v5: a 512-sample 16 kHz chunk, recurrent state [2, batch, 128] and the sample rate (a scalar) give the speech probability and the next state",
        [
            SileroVadV5Request(Speech(16_000, Voiced, SileroChunk), 1, new float[2 * 128]),
            SileroVadV5Request([.. Speech(16_000, Voiced, SileroChunk), .. Speech(16_000, Voiced + 3 * SileroChunk, SileroChunk)], 2, new float[2 * 2 * 128]),
        ]);

    public static ThirdPartyModel SileroVadLegacy { get; } = new(
        "silero-vad-legacy",
        "silero-vad-legacy.onnx",
        "Silero VAD legacy (before v5): an audio chunk, the sample rate (a scalar) and LSTM state h, c [2, batch, 64] give the speech probability and the next h, c",
        [
            SileroVadLegacyRequest(Speech(16_000, Voiced, SileroChunk), 1, new float[2 * 64], new float[2 * 64]),
            SileroVadLegacyRequest(Speech(8_000, Voiced / 2, SileroChunk / 2), 1, new float[2 * 64], new float[2 * 64], sampleRate: 8_000),
        ]);

    public static ThirdPartyModel OpenWakeWordMelspectrogram { get; } = new(
        "openwakeword-melspectrogram",
        "openwakeword-melspectrogram.onnx",
        "openWakeWord's feature extractor: 16 kHz audio at int16 scale (STFT and mel filters in the graph) gives 32-bin mel frames, one per 10 ms",
        [
            MelspectrogramRequest(Pcm16(Speech(16_000, Voiced, WakeWordStep)), 1),
            // 1280 new samples plus the 480 of context openWakeWord keeps, for two streams at once.
            MelspectrogramRequest(Pcm16([.. Speech(16_000, Voiced, WakeWordStep + 480), .. Speech(16_000, Voiced + 2 * WakeWordStep, WakeWordStep + 480)]), 2),
        ]);

    public static ThirdPartyModel OpenWakeWordEmbedding { get; } = new(
        "openwakeword-embedding",
        "openwakeword-embedding.onnx",
        "openWakeWord's speech embedding (Google's speech_embedding): a window of 76 mel frames x 32 bins gives a 96-dimensional embedding",
        [
            EmbeddingRequest(MelFrames(0, EmbeddingFrames), 1),
            // Two windows 8 frames (one 80 ms step) apart, as consecutive steps of a stream see them.
            EmbeddingRequest([.. MelFrames(40, EmbeddingFrames), .. MelFrames(48, EmbeddingFrames)], 2),
        ]);

    public static ThirdPartyModel PaddleOcrDetection { get; } = new(
        "paddleocr-det-v4",
        "paddleocr-det-v4.onnx",
        "PaddleOCR PP-OCRv4 text detection (DB): an ImageNet-normalized NCHW image, height and width multiples of 32, gives a per-pixel text probability map of the same size",
        [
            OcrDetectionRequest(Page(64, 128, [("STRATUS", 8, 10, 2), ("ONNX V2", 8, 38, 2)])),
            OcrDetectionRequest(Page(96, 192, [("STRATUS", 10, 12, 3), ("OCR TEXT", 10, 56, 2), ("ONNX", 120, 60, 2)])),
        ]);

    public static ThirdPartyModel PaddleOcrClassifier { get; } = new(
        "paddleocr-cls-v2",
        "paddleocr-cls-v2.onnx",
        "PaddleOCR mobile v2.0 text-direction classifier: a text-line crop resized to height 48, normalized to [-1, 1] and padded to width 192, gives the probabilities of 0 and 180 degrees",
        [
            OcrClassifierRequest([TextLine("STRATUS")]),
            // Upright and upside down; "ONNX" would not do, as O, N and X look the same either way up.
            OcrClassifierRequest([TextLine("TRACE"), TextLine("TRACE", upsideDown: true)]),
        ]);

    public static IReadOnlyList<ThirdPartyModel> All { get; } =
        [SileroVadV5, SileroVadLegacy, OpenWakeWordMelspectrogram, OpenWakeWordEmbedding, PaddleOcrDetection, PaddleOcrClassifier];

    /// <summary>
    /// Synthesized voiced speech in [-1, 1], peaking near 0.3: six harmonics of a pitch gliding around 120 Hz, a
    /// 20 ms onset, a 3 Hz syllable envelope and faint breath noise. Sample n is the same whatever the chunk, so
    /// consecutive chunks join up.
    /// </summary>
    public static float[] Speech(int sampleRate, int start, int count)
    {
        var samples = new float[count];
        for (var i = 0; i < count; i++)
        {
            var t = (double)(start + i) / sampleRate;
            // The integral of f0(t) = 120 + 20 sin(3 pi t).
            var phase = 2 * Math.PI * ((120 * t) - (20 / (3 * Math.PI) * Math.Cos(3 * Math.PI * t)));
            double voiced = 0, norm = 0;
            for (var k = 1; k <= 6; k++)
            {
                voiced += Math.Sin(k * phase) / k;
                norm += 1.0 / k;
            }

            var onset = 0.5 - (0.5 * Math.Cos(Math.PI * Math.Min(1, t / 0.02)));
            var syllable = 0.65 + (0.35 * Math.Cos(2 * Math.PI * 3 * t));
            samples[i] = (float)((0.3 * onset * syllable * voiced / norm) + (0.004 * Noise(start + i)));
        }

        return samples;
    }

    /// <summary>Audio in [-1, 1] as int16 PCM values in floats, which is what openWakeWord feeds its models.</summary>
    public static float[] Pcm16(float[] audio) => [.. audio.Select(x => (float)Math.Round(Math.Clamp(x, -1, 1) * short.MaxValue))];

    /// <summary>
    /// Mel frames as openWakeWord passes them to the embedding (the melspectrogram's output / 10 + 2), in the range
    /// that model gives for <see cref="Speech"/> at int16 scale (about 5..11.5): a floor that falls with frequency, a
    /// low band and two moving formants under the same 3 Hz syllable envelope.
    /// </summary>
    public static float[] MelFrames(int start, int count)
    {
        var frames = new float[count * MelBins];
        for (var f = 0; f < count; f++)
        {
            var frame = start + f;
            var voicing = 0.65 + (0.35 * Math.Cos(2 * Math.PI * 3 * frame * 0.01));
            var f1 = 6 + (2 * Math.Sin(2 * Math.PI * frame / 40));
            var f2 = 16 + (4 * Math.Sin((2 * Math.PI * frame / 55) + 1));
            for (var b = 0; b < MelBins; b++)
            {
                var value = 5.8 - (0.03 * b)
                    + (2.5 * voicing * Bump(b, 2, 8))
                    + (3.5 * voicing * Bump(b, f1, 6))
                    + (2.5 * voicing * Bump(b, f2, 10))
                    + (0.3 * Noise((frame * MelBins) + b));
                frames[(f * MelBins) + b] = (float)value;
            }
        }

        return frames;

        static double Bump(int bin, double centre, double width) => Math.Exp(-((bin - centre) * (bin - centre)) / width);
    }

    /// <summary>Inputs input [batch, samples], state [2, batch, 128], sr [] of Silero VAD v5.</summary>
    public static string SileroVadV5Request(float[] audio, int batch, float[] state, long sampleRate = 16_000) => Request(
        Fp32("input", [batch, audio.Length / batch], audio),
        Fp32("state", [2, batch, 128], state),
        Int64Scalar("sr", sampleRate));

    /// <summary>Inputs input [batch, samples], sr [], h and c [2, batch, 64] of the legacy Silero VAD.</summary>
    public static string SileroVadLegacyRequest(float[] audio, int batch, float[] h, float[] c, long sampleRate = 16_000) => Request(
        Fp32("input", [batch, audio.Length / batch], audio),
        Int64Scalar("sr", sampleRate),
        Fp32("h", [2, batch, 64], h),
        Fp32("c", [2, batch, 64], c));

    /// <summary>Input input [batch, samples] of the melspectrogram model; <paramref name="pcm"/> at int16 scale.</summary>
    public static string MelspectrogramRequest(float[] pcm, int batch) => Request(Fp32("input", [batch, pcm.Length / batch], pcm));

    /// <summary>Input input_1 [batch, 76, 32, 1] of the embedding model.</summary>
    public static string EmbeddingRequest(float[] frames, int batch) => Request(Fp32("input_1", [batch, EmbeddingFrames, MelBins, 1], frames));

    private static string OcrDetectionRequest((int Height, int Width, float[] Rgb) page)
    {
        // PaddleOCR's det preprocessing: x / 255, then ImageNet mean and std per channel.
        ReadOnlySpan<double> mean = [0.485, 0.456, 0.406];
        ReadOnlySpan<double> std = [0.229, 0.224, 0.225];
        var plane = page.Height * page.Width;
        var x = new float[page.Rgb.Length];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = (float)(((page.Rgb[i] / 255.0) - mean[i / plane]) / std[i / plane]);
        }

        return Request(Fp32("x", [1, 3, page.Height, page.Width], x));
    }

    private static string OcrClassifierRequest(float[][] crops) =>
        Request(Fp32("x", [crops.Length, 3, 48, 192], [.. crops.SelectMany(c => c)]));

    /// <summary>
    /// A text line as PaddleOCR's classifier gets it: the crop (height 48, as wide as the text; upside down if asked)
    /// normalized to (x / 255 - 0.5) / 0.5, then padded with zeros on the right to width 192.
    /// </summary>
    private static float[] TextLine(string text, bool upsideDown = false)
    {
        var (height, width, rgb) = Page(48, (text.Length * 24) + 12, [(text, 6, 10, 4)]);
        var plane = height * width;
        var x = new float[3 * 48 * 192];
        for (var i = 0; i < rgb.Length; i++)
        {
            var (c, pixel) = (i / plane, i % plane);
            var source = upsideDown ? (c * plane) + (plane - 1 - pixel) : i;
            x[(((c * 48) + (pixel / width)) * 192) + (pixel % width)] = (float)(((rgb[source] / 255.0) - 0.5) / 0.5);
        }

        return x;
    }

    /// <summary>
    /// Dark text on light, slightly warm and unevenly lit paper with a little grain, softened by a 3x3 blur: RGB,
    /// channel-major, values 0..255.
    /// </summary>
    private static (int Height, int Width, float[] Rgb) Page(int height, int width, (string Text, int X, int Y, int Scale)[] lines)
    {
        var ink = new bool[height, width];
        foreach (var (text, x0, y0, scale) in lines)
        {
            for (var ch = 0; ch < text.Length; ch++)
            {
                var rows = Glyphs[text[ch]];
                for (var r = 0; r < 7 * scale; r++)
                {
                    for (var c = 0; c < 5 * scale; c++)
                    {
                        var (y, x) = (y0 + r, x0 + (ch * 6 * scale) + c);
                        if (y < height && x < width && (rows[r / scale] >> (4 - (c / scale)) & 1) == 1)
                        {
                            ink[y, x] = true;
                        }
                    }
                }
            }
        }

        var gray = new double[height, width];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var paper = 226 + (14.0 * x / width) - (10.0 * y / height);
                gray[y, x] = (ink[y, x] ? 38 : paper) + (4 * Noise((y * width) + x + 7919));
            }
        }

        ReadOnlySpan<double> tint = [4, 0, -6];
        var rgb = new float[3 * height * width];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                double sum = 0;
                var n = 0;
                for (var dy = -1; dy <= 1; dy++)
                {
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        if (y + dy >= 0 && y + dy < height && x + dx >= 0 && x + dx < width)
                        {
                            sum += gray[y + dy, x + dx];
                            n++;
                        }
                    }
                }

                for (var c = 0; c < 3; c++)
                {
                    rgb[(((c * height) + y) * width) + x] = (float)Math.Round(Math.Clamp((sum / n) + tint[c], 0, 255));
                }
            }
        }

        return (height, width, rgb);
    }

    /// <summary>Deterministic noise in [-1, 1] from an integer (a 32-bit integer hash).</summary>
    private static double Noise(long n)
    {
        var x = unchecked((uint)n * 2654435761u);
        x ^= x >> 15;
        x = unchecked(x * 2246822519u);
        x ^= x >> 13;
        return (x / (double)uint.MaxValue * 2) - 1;
    }

    private static string Request(params string[] inputs) => $"{{\"inputs\":[{string.Join(",", inputs)}]}}";

    private static string Fp32(string name, long[] shape, float[] data)
    {
        var json = new StringBuilder(data.Length * 12);
        json.Append(CultureInfo.InvariantCulture, $"{{\"name\":\"{name}\",\"datatype\":\"FP32\",\"shape\":[{string.Join(",", shape)}],\"data\":[");
        for (var i = 0; i < data.Length; i++)
        {
            json.Append(i == 0 ? "" : ",").Append(data[i].ToString(CultureInfo.InvariantCulture));
        }

        return json.Append("]}").ToString();
    }

    private static string Int64Scalar(string name, long value) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"name\":\"{name}\",\"datatype\":\"INT64\",\"shape\":[],\"data\":[{value}]}}");
}
