using System.IO.Compression;
using FastBackprop.Fuzz;
using Xunit.Abstractions;

namespace FastBackprop.Tests.Fuzz;

/// <summary>
/// The bounded fuzz run: a few hundred mutated files per format, from fixed seeds, through the loaders in
/// process. Every case must end in a documented error or a sound result: no crash, no hang, no silent acceptance of
/// nonsense. A failure prints each failure class with the command that replays it
/// (<c>fastbackprop-fuzz --replay --kind K --seed S --index I</c>). The long runs are the tool's (tools/FastBackprop.Fuzz).
/// <c>FASTBACKPROP_FUZZ_CASES</c> sets the cases per kind (default 150); <c>--filter Category!=Fuzz</c> leaves these out.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int RunSeed = 20261201;

    // Small bombs and hostile inputs: the test checks how the loaders classify them, the tool checks memory at scale.
    private static readonly FuzzSettings Settings = new()
    {
        // A hang never ends; 15 s keeps an 8 MiB bomb on a loaded 2-core machine (3-5 s there) from being called one.
        TimeLimit = TimeSpan.FromSeconds(15),
        MemoryCapBytes = 0,
        BombBytes = 8 << 20,
        BombPercent = 2,
        HostileRows = 3_000,
        MaxClasses = 1_000,
        WorkDirectory = Path.Combine(Path.GetTempPath(), "fastbackprop-fuzz-tests"),
    };

    private static int CasesPerKind =>
        int.TryParse(Environment.GetEnvironmentVariable("FASTBACKPROP_FUZZ_CASES"), out int n) && n > 0 ? n : 150;

    [Theory]
    [InlineData(FuzzKind.Csv)]
    [InlineData(FuzzKind.Idx)]
    [InlineData(FuzzKind.Model)]
    [InlineData(FuzzKind.Onnx)]
    [InlineData(FuzzKind.Gzip)]
    public void Mutated_files_end_in_a_documented_error_or_a_sound_result(FuzzKind kind)
    {
        Directory.CreateDirectory(Settings.WorkDirectory);
        var generator = new CaseGenerator(Settings);
        var runner = new CaseRunner(Settings);
        var report = new FuzzReport();
        for (int i = 0; i < CasesPerKind; i++)
        {
            FuzzCase fuzzCase = generator.Create(kind, RunSeed, i);
            report.Add(fuzzCase, runner.Run(fuzzCase), "library");
        }
        string summary = report.ToMarkdown($"FuzzTests {kind}: seed {RunSeed}, {CasesPerKind} cases", Settings, TimeSpan.Zero, 0, 0);
        output.WriteLine(summary);
        Assert.True(report.FailureCount == 0, $"{report.FailureCount} of {CasesPerKind} {kind} cases failed:\n{summary}");
        // Most cases must reach the loader's checks, not all die on the first byte: some are accepted, some rejected.
        Assert.True(report.Count(kind, "library", Outcome.CleanError) > CasesPerKind / 4, summary);
    }

    [Fact]
    public void Every_seed_file_loads()
    {
        for (int i = 0; i < 40; i++)
        {
            var random = new Random(i);
            CsvSeed csv = Seeds.Csv(random);
            byte[] text = System.Text.Encoding.UTF8.GetBytes(csv.Text);
            Dataset<float> data = CsvLoader.Load<float>(new MemoryStream(csv.Gzip ? Seeds.Gzip(text) : text), csv.Options, "seed.csv");
            Assert.Null(NonsenseChecks.Dataset(data, Settings));

            IdxSeed idx = Seeds.Idx(random);
            var images = FuzzFile.FromBytes(idx.GzipImages ? Seeds.Gzip(idx.Images) : idx.Images);
            var labels = FuzzFile.FromBytes(idx.GzipLabels ? Seeds.Gzip(idx.Labels) : idx.Labels);
            FuzzCase idxCase = new(FuzzKind.Idx, 0, i, idx.Description, "none", [("images.idx", images), ("labels.idx", labels)]);
            CaseResult idxResult = CaseRunner.Execute(idxCase, Settings);
            Assert.True(idxResult.Outcome == Outcome.Accepted, $"{idx.Description}: {idxResult.Detail}");

            ModelSeed model = Seeds.Model(random);
            Model<float> loaded = ModelFile.Load<float>(new MemoryStream(model.Bytes));
            Assert.Null(NonsenseChecks.Model(loaded));

            OnnxSeed qdq = Seeds.Qdq(random);
            Model<float> imported = OnnxModel.Import<float>(new MemoryStream(qdq.Bytes));
            Assert.True(imported.Quantized is { } q && Enumerable.Range(0, imported.Network.LayerCount).All(q.IsQuantized), qdq.Description);
            Assert.Equal(qdq.InputSize, imported.InputSize);
            Assert.Null(NonsenseChecks.Model(imported));
        }
    }

    [Fact]
    public void A_case_is_the_same_every_time_it_is_made()
    {
        var generator = new CaseGenerator(Settings);
        foreach (FuzzKind kind in Enum.GetValues<FuzzKind>())
        {
            for (int i = 0; i < 20; i++)
            {
                FuzzCase a = generator.Create(kind, RunSeed, i), b = generator.Create(kind, RunSeed, i);
                Assert.Equal(a.Mutation, b.Mutation);
                Assert.Equal(a.Files.Count, b.Files.Count);
                for (int f = 0; f < a.Files.Count; f++)
                    Assert.Equal(ReadAll(a.Files[f].File.Open()), ReadAll(b.Files[f].File.Open()));
            }
        }
    }

    [Fact]
    public void A_gzip_bomb_decompresses_to_its_declared_size_from_a_small_file()
    {
        long size = 3L * GzipBomb.BlockBytes + 12345;
        var bomb = new GzipBomb("a,b\n"u8.ToArray(), "0,1\n"u8.ToArray(), size);
        Assert.True(bomb.Length < size / 500, $"{bomb.Length} compressed bytes for {size}");
        using var gzip = new GZipStream(bomb.Open(), CompressionMode.Decompress);
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        var start = new List<byte>();
        while ((n = gzip.Read(buffer)) > 0)
        {
            start.AddRange(buffer.AsSpan(0, Math.Min(n, 8 - start.Count)));
            total += n;
        }
        Assert.Equal(size, total);
        Assert.Equal("a,b\n0,1\n"u8.ToArray(), start.ToArray());
    }

    [Fact]
    public void A_re_signed_edit_passes_the_checksum_and_reaches_the_field_checks()
    {
        ModelSeed seed = Seeds.Model(new Random(3));
        byte[] bytes = (byte[])seed.Bytes.Clone();
        var layout = new ModelLayout(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(ModelLayout.LayerOffset(0)), 0);
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => ModelFile.Load<float>(new MemoryStream(ModelLayout.Resign(bytes))));
        Assert.Contains("layer 0 units", e.Message);
        Assert.True(layout.ParameterCount > 0);
    }

    [Fact]
    public void Quantized_seeds_load_and_the_layout_finds_their_int8_block()
    {
        int quantized = 0;
        for (int i = 0; i < 60; i++)
        {
            ModelSeed seed = Seeds.Model(new Random(i));
            if (!seed.Quantized)
                continue;
            quantized++;
            Model<float> loaded = ModelFile.Load<float>(new MemoryStream(seed.Bytes));
            Assert.Null(NonsenseChecks.Model(loaded));
            var layout = new ModelLayout(seed.Bytes);
            ModelLayout.Int8Layer first = Assert.IsType<ModelLayout.Int8Layer>(layout.Int8Layers.FirstOrDefault());
            Assert.True(loaded.Quantized!.IsQuantized(first.Layer));
            Assert.Equal(layout.Int8Layers.Sum(l => (long)l.Units * l.Inputs),
                System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(seed.Bytes.AsSpan(layout.Int8CountOffset)));

            byte[] bytes = (byte[])seed.Bytes.Clone();
            bytes[first.CodesOffset] = 0x80;
            InvalidDataException e = Assert.Throws<InvalidDataException>(() => ModelFile.Load<float>(new MemoryStream(ModelLayout.Resign(bytes))));
            Assert.Equal($"layer {first.Layer} weight codes", e.Data["Field"]);
            Assert.Equal((long)first.CodesOffset, e.Data["Offset"]);
        }
        Assert.InRange(quantized, 5, 40);
    }

    [Fact]
    public void A_damaged_gzip_is_never_called_sound_and_valid_members_load_as_the_original()
    {
        var generator = new CaseGenerator(Settings);
        int damaged = 0, valid = 0;
        for (int i = 0; i < 80; i++)
        {
            FuzzCase fuzzCase = generator.Create(FuzzKind.Gzip, RunSeed, i);
            CaseResult result = CaseRunner.Execute(fuzzCase, Settings);
            if (fuzzCase.MustBeRefused)
            {
                damaged++;
                Assert.True(result.Outcome is Outcome.CleanError or Outcome.SilentNonsense, $"{fuzzCase.Mutation}: {result.Outcome} {result.Detail}");
            }
            else
            {
                valid++;
                Assert.True(result.Outcome is Outcome.Accepted or Outcome.CleanError, $"{fuzzCase.Mutation}: {result.Outcome} {result.Detail}");
            }
        }
        Assert.True(damaged > 0 && valid > 0, $"{damaged} damaged and {valid} valid cases");
    }

    [Fact]
    public void A_written_model_file_loads_with_its_layers_and_predicts_what_they_compute()
    {
        // 2 inputs → dense 2 (ReLU, W = [[1, 2], [−1, 0.5]], b = [0.5, 0]) → 3 dropout layers → dense 1 (identity, W = [[2, −1]], b = [0.25]).
        float[][] first = [[1, 2], [-1, 0.5f]];
        byte[] bytes = new ModelWriter(2)
            .Dense(2, ActivationKind.ReLU, (u, i) => first[u][i], u => u == 0 ? 0.5f : 0f)
            .Dropouts(3)
            .Dense(1, ActivationKind.Identity, (_, i) => i == 0 ? 2f : -1f, _ => 0.25f)
            .ToBytes();
        Model<float> model = ModelFile.Load<float>(new MemoryStream(bytes));
        Assert.Equal(5, model.Network.LayerCount);
        var output = new float[1];
        model.Predict([1f, 1f], 1, output);
        // h = ReLU([1 + 2 + 0.5, −1 + 0.5]) = [3.5, 0]; y = 2·3.5 − 0 + 0.25.
        Assert.Equal(7.25f, output[0]);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using (stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }
}
