package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A seeded split is a partition: sizes as asked, no example lost or repeated, the same for the same seed. */
class DatasetSplitTest {
    @Test
    void aSeededSplitPartitionsTheExamples() {
        int n = 101;
        float[] f = new float[2 * n];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            f[2 * i] = i; // the feature identifies the example
            f[2 * i + 1] = -i;
            y[i] = i % 3;
        }
        Dataset d = new Dataset(f, 2, y, 3);
        Dataset.Parts p = d.split(0.8, 7);
        assertEquals(81, p.first().size());
        assertEquals(20, p.second().size());
        Set<Integer> seen = new HashSet<>();
        for (Dataset part : new Dataset[] {p.first(), p.second()}) {
            for (int i = 0; i < part.size(); i++) {
                int id = (int) part.features()[2 * i];
                assertEquals(-id, part.features()[2 * i + 1]);
                assertEquals(id % 3, part.labels()[i]);
                assertEquals(true, seen.add(id), "example " + id + " appears twice");
            }
        }
        assertEquals(n, seen.size());
        assertEquals(java.util.Arrays.toString(p.second().labels()), java.util.Arrays.toString(d.split(0.8, 7).second().labels()));
        assertNotEquals(java.util.Arrays.toString(p.second().features()), java.util.Arrays.toString(d.split(0.8, 8).second().features()));
        assertThrows(IllegalArgumentException.class, () -> d.split(1.5, 0));
        assertThrows(IllegalArgumentException.class, () -> d.subset(new int[] {101}));
    }
}
