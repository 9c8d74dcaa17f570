// vae encode end to end: the safetensors file read back (names, shapes, paths) equals Model.encode of the same images.
import Foundation
import ImageIO
import Testing
import TestSupport
import VAE

@Suite(.serialized) struct EncodeCLITests {
    @Test func encodeWritesMeansLogVariancesAndPaths() throws {
        let dir = temporaryFolder("vae-encode"), run = dir + "/run"
        #expect(try vae(["train", sampleData, "--epochs", "1", "--out", run, "--precision", "fp32"] + tinyModel).status == 0)
        // A folder of images with a broken file and a name that CSV must quote.
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: sampleData).filter { $0.hasSuffix(".png") }.sorted().prefix(5)
        for (i, name) in files.enumerated() {
            try FileManager.default.copyItem(atPath: sampleData + "/" + name, toPath: data + (i == 0 ? "/a, \"b\".png" : "/" + name))
        }
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("truncated".utf8)).write(to: URL(fileURLWithPath: data + "/zz-broken.png"))

        let r = try vae(["encode", run, data, "--out", dir + "/z.safetensors", "--csv", dir + "/z.csv", "--precision", "fp32"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipping") && r.stderr.contains("zz-broken.png"), "\(r.stderr)")
        #expect(r.stdout.contains("5 images × 4 latent dimensions, 1 unreadable files skipped"), "\(r.stdout)")

        let file = try Safetensors.read(dir + "/z.safetensors")
        #expect(file.tensors.map(\.name) == ["mean", "logvar"])
        #expect(file["mean"]?.shape == [5, 4] && file["logvar"]?.shape == [5, 4])
        let paths = try #require(LatentExport.paths(in: file))
        #expect(paths.count == 5 && paths.contains(data + "/a, \"b\".png") && !paths.contains { $0.contains("broken") }, "\(paths)")

        let model = try Model(folder: run, threads: 1)
        let prep = try #require(model.run?.data)
        let images = try paths.map { try prep.load($0) }
        let expected = model.encode(images.flatMap(\.planar), count: images.count)
        // Equal up to the order of the sums (the command runs on other threads than this test).
        #expect(close(file["mean"]?.values ?? [], expected.mean) && close(file["logvar"]?.values ?? [], expected.logVariance))

        let csv = try String(contentsOfFile: dir + "/z.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 6)
        #expect(csv[0] == "path,mean_0,mean_1,mean_2,mean_3,logvar_0,logvar_1,logvar_2,logvar_3")
        let quoted = "\"" + data + "/a, \"\"b\"\".png\","
        let row = try #require(csv.first { $0.hasPrefix(quoted) })
        let values = row.dropFirst(quoted.count).split(separator: ",").compactMap { Float(String($0)) }
        let index = try #require(paths.firstIndex(of: data + "/a, \"b\".png"))
        #expect(values == Array(file["mean"]!.values[(index * 4)..<(index * 4 + 4)] + file["logvar"]!.values[(index * 4)..<(index * 4 + 4)]))

        // Our outputs may be replaced; anything else is refused in one line.
        #expect(try vae(["encode", run, data, "--out", dir + "/z.safetensors", "--csv", dir + "/z.csv"]).status == 0)
        let model2 = try vae(["encode", run, data, "--out", run + "/model.safetensors"])
        #expect(model2.status != 0 && model2.stderr.contains("model.safetensors: exists and is not a file 'vae encode' wrote"), "\(model2.stderr)")
        #expect(model2.stderr.split(separator: "\n").count == 1)
        let csvOverImage = try vae(["encode", run, data, "--out", dir + "/y.safetensors", "--csv", data + "/" + files[1]])
        #expect(csvOverImage.status != 0 && csvOverImage.stderr.contains("refusing to replace it"))
        #expect(try vae(["encode", run, dir + "/nothing-here", "--out", dir + "/n.safetensors"]).status != 0)
    }

    func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 } }

    @Test func csvFieldsAreQuotedOnlyWhenNeeded() {
        #expect(LatentExport.csvField("a/b.png") == "a/b.png")
        #expect(LatentExport.csvField("a,b.png") == "\"a,b.png\"")
        #expect(LatentExport.csvField("say \"hi\".png") == "\"say \"\"hi\"\".png\"")
        #expect(LatentExport.csvField("line\nbreak") == "\"line\nbreak\"")
    }
}
